/* test_tls.c — HTTPS served directly, checked by curl against a self-signed certificate. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct tenv t;
	char dir[] = "/tmp/biobank-tls.XXXXXX", cert[128], key[128], certarg[160], keyarg[160];
	char *out;

	tenv_setup(&t, "tls", argc, argv);
	if (access("/usr/bin/openssl", X_OK) != 0 || access("/usr/bin/curl", X_OK) != 0) {
		tenv_teardown(&t);
		tap_skip_all("openssl or curl is not installed");
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	const char *gen[] = { "/usr/bin/openssl",
		              "req",
		              "-x509",
		              "-newkey",
		              "rsa:2048",
		              "-nodes",
		              "-keyout",
		              key,
		              "-out",
		              cert,
		              "-days",
		              "2",
		              "-subj",
		              "/CN=localhost",
		              "-addext",
		              "subjectAltName=DNS:localhost,IP:127.0.0.1",
		              NULL };
	is_int(run_cmd(gen, NULL, NULL, NULL), 0, "a self-signed certificate for 127.0.0.1");

	struct daemon d = { .https = true };
	snprintf(certarg, sizeof(certarg), "--tls-cert=%s", cert);
	snprintf(keyarg, sizeof(keyarg), "--tls-key=%s", key);
	const char *extra[] = { certarg, keyarg, NULL };
	ok(daemon_start(&t, &d, extra) == 0, "biobankd starts with --tls-cert and --tls-key");

	char url[128];
	snprintf(url, sizeof(url), "%s/healthz", d.url);
	const char *verified[] = { "/usr/bin/curl", "-sS", "--cacert", cert, url, NULL };
	is_int(run_cmd(verified, NULL, NULL, &out), 0,
	       "curl verifies the certificate and connects");
	ok(strstr(out, "\"status\":\"ok\"") != NULL, "  and gets /healthz over TLS");
	free(out);

	const char *unverified[] = { "/usr/bin/curl", "-sS", url, NULL };
	ok(run_cmd(unverified, NULL, NULL, &out) != 0,
	   "without the certificate as trust anchor curl refuses it");
	free(out);

	char plain[128];
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%d/healthz", d.port);
	const char *cleartext[] = { "/usr/bin/curl", "-sS", "--max-time", "5", plain, NULL };
	ok(run_cmd(cleartext, NULL, NULL, &out) != 0 || strstr(out, "\"status\":\"ok\"") == NULL,
	   "plain HTTP to the TLS port gets no answer");
	free(out);

	char body[] = "{\"username\":\"admin\",\"password\":\"admin-password\"}";
	char sessions[128];
	snprintf(sessions, sizeof(sessions), "%s/api/v1/sessions", d.url);
	const char *post[] = {
		"/usr/bin/curl", "-sS", "--cacert", cert, "-H", "Content-Type: application/json",
		"--data-binary", body,  sessions,   NULL
	};
	is_int(run_cmd(post, NULL, NULL, &out), 0, "a login over TLS");
	ok(strstr(out, "\"token\":\"bb_") != NULL, "  returns a token");
	free(out);

	is_int(daemon_stop(&d), 0, "the TLS daemon stops cleanly");
	unlink(cert);
	unlink(key);
	rmdir(dir);
	tenv_teardown(&t);
	return tap_done();
}
