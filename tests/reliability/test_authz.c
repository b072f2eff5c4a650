/*
 * test_authz.c — the authorization sweep: every route of the daemon's own
 * routing table (routes[] from server/http/router.c, linked in) × every role ×
 * a token of the same role limited to another study. A role the route does
 * not allow gets 403, as does a limited caller on a route for callers of
 * every study (EVERY_STUDY: accounts, passwords, tokens); an object of a study outside the caller's
 * gets 404; a list leaves such objects out; everyone else gets a 2xx for a minimal valid request on
 * fresh objects. A refused write leaves nothing behind. A route without a case below fails the
 * test: a new route cannot be forgotten.
 *
 * Then the cross-study write matrix: every write route (every method but
 * GET) aimed by each token limited to SSC that the route admits at MASC's
 * objects, or at the caller's own objects where a MASC tube sits beside
 * them (a shared box, an audit of it). Whether refused or served, the
 * ledger and the audit log are exactly as before, no audit record names a
 * MASC tube, and the answer names no MASC tube, barcode or participant the
 * request did not name itself. A write route without a case there fails
 * too.
 */
#include "rel.h"
#include "http/server.h"

#include <unistd.h>

/* How the study limit bears on a route. */
enum scope {
	SC_NONE,   /* not bound to a study: the limited token is served like any */
	SC_OBJECT, /* names an object of study MASC: a token limited to SSC gets 404 */
	SC_LIST,   /* a list: a token limited to SSC is served without MASC's objects */
	SC_BODY,   /* the body names a MASC object: to a token limited to SSC it does
	            * not exist, a 400 naming the field as for any unknown reference */
	SC_UNSET,  /* public, of a feature this daemon has not set (single sign-on):
	            * 404 to every caller, whatever its token */
};

/* What a case needs made fresh before each request. */
enum prep {
	P_NONE,
	P_REGISTERED, /* {tube}: a registered MASC tube; {box}: an empty box */
	P_STORED,     /* {tube} stored at {box} A1 */
	P_OUT,        /* {tube} checked out; {box} empty */
	P_LOST,       /* {tube} lost; {box} empty */
	P_WITHDRAWN,  /* {tube} of a participant whose biobank consent is withdrawn */
	P_AUDIT,      /* {audit} of {box}, which holds {tube} */
	P_SHIPMENT,   /* {ship}: a draft holding {tube}; {tube2}: stored, not on it */
	P_SHIPPED,    /* {ship} dispatched */
	P_SESSION,    /* the request uses a session of its own, which it may end */
	P_PRINT_JOB,  /* {job}: a failed print job of {fixed} on printer bench */
	P_USER,       /* an account target{n} (password target-password-{n}) */
	P_ACCOUNT,    /* the request uses a session of an account own{n} (password
	               * own-password-{n}) of the caller's role and studies, whose
	               * password it may change */
	P_TOKEN,      /* {svc}: the id of a new service token of the admin */
	P_EXPORT,     /* {export}: a finished FHIR export of the caller's, of every study */
	P_IMPORT,     /* {import}: the name of a finished import of the caller's (its progress) */
	/* For the write matrix (the caller is limited to SSC): */
	P_MIXED,       /* {box}: MASC {tube} (tube barcode {barcode}) at A1; {own}: an SSC
	                * tube, registered */
	P_OWN_AUDIT,   /* P_MIXED, and {audit}: the caller's audit of {box} */
	P_OWN_SCANNED, /* P_OWN_AUDIT, {tube} scanned at A1 by the caller */
	P_OWN_DRAFT,   /* P_MIXED, and {ship}: the caller's empty draft shipment */
	/* Specimen requests: {req} for MASC serum of a new participant (biobank consent
	 * given) holding {tube} and {tube2} in {box}, filed by a researcher (the caller when
	 * it is an unlimited researcher, else sweep-filer): */
	P_REQUEST,     /* submitted */
	P_APPROVED,    /* approved by the admin */
	P_ALLOCATED,   /* and allocated: {tube} reserved */
	P_PICKED,      /* and {tube} picked */
	P_REQ_SHIPPED, /* and shipped on a dispatched shipment {ship} */
	/* Issue 18: */
	P_RACK,      /* {loc}: a rack of its own in Freezer 1 holding {box}, empty */
	P_RACK_MASC, /* the same, MASC {tube} stored at {box} A1 */
	P_TASK,      /* {task}: an open maintenance task of Freezer 1 */
};

struct scase {
	const char *method, *pattern; /* the route it covers */
	const char *path, *body;      /* with {placeholders} */
	enum prep prep;
	enum scope scope;
	const char *list_marker; /* SC_LIST: text that names MASC's objects in the answer */
};

/* A request for MASC serum any role that files requests may send. */
#define REQUEST_BODY                                                                               \
	"{\"title\":\"Sweep "                                                                      \
	"{n}\",\"project\":\"P\",\"ethics_ref\":\"E-{n}\",\"mta_ref\":\"M-{n}\","                  \
	"\"purpose\":\"non-genetic\",\"criteria\":{\"study\":\"MASC\",\"timepoints\":[\"t{n}\"],"  \
	"\"types\":[\"serum\"],\"quantity\":{\"value\":1,\"unit\":\"mL\"},\"participants\":1,"     \
	"\"allow_last_aliquot\":true}}"
/* MASC's protocol: the timepoints the cases below register at, and y9, which none does. */
#define SWEEP_TIMEPOINTS                                                                           \
	"{\"code\":\"baseline\",\"label\":\"Baseline\",\"day_offset\":0},"                         \
	"{\"code\":\"m0\",\"label\":\"M0\",\"day_offset\":0},{\"code\":\"m6\",\"label\":\"M6\","   \
	"\"day_offset\":182},{\"code\":\"y9\",\"label\":\"Y9\",\"day_offset\":3287}"
#define SWEEP_PROTOCOL "{\"timepoints\":[" SWEEP_TIMEPOINTS "]}"

/* {n}: a number unique to the request; {fixed}: a MASC tube stored at BOX-A A1. */
static const struct scase cases[] = {
	{ "GET", "/healthz", "/healthz", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/readyz", "/readyz", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/metrics", "/metrics", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/openapi.json", "/api/v1/openapi.json", NULL, P_NONE, SC_NONE, NULL },
	{ "POST", "/api/v1/sessions", "/api/v1/sessions",
	  "{\"username\":\"admin\",\"password\":\"admin-password\"}", P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/sessions/current", "/api/v1/sessions/current", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/site", "/api/v1/site", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/site/sign-in", "/api/v1/site/sign-in", NULL, P_NONE, SC_NONE, NULL },
	/* single sign-on: public, and here without a provider (404 sso-not-configured) */
	{ "GET", "/api/v1/oidc/login", "/api/v1/oidc/login", NULL, P_NONE, SC_UNSET, NULL },
	{ "GET", "/api/v1/oidc/callback", "/api/v1/oidc/callback?state=x", NULL, P_NONE, SC_UNSET,
	  NULL },
	{ "DELETE", "/api/v1/sessions/current", "/api/v1/sessions/current", NULL, P_SESSION,
	  SC_NONE, NULL },
	{ "PUT", "/api/v1/sessions/current/password", "/api/v1/sessions/current/password",
	  "{\"current_password\":\"own-password-{n}\",\"new_password\":\"own-new-{n}\"}", P_ACCOUNT,
	  SC_NONE, NULL },
	{ "PUT", "/api/v1/users/:username/password", "/api/v1/users/target{n}/password",
	  "{\"password\":\"target-new-{n}\"}", P_USER, SC_NONE, NULL },
	{ "DELETE", "/api/v1/users/:username/tokens", "/api/v1/users/target{n}/tokens", NULL,
	  P_USER, SC_NONE, NULL },
	{ "POST", "/api/v1/users", "/api/v1/users",
	  "{\"username\":\"u{n}\",\"password\":\"password-{n}\",\"role\":\"auditor\"}", P_NONE,
	  SC_NONE, NULL },
	{ "GET", "/api/v1/users", "/api/v1/users", NULL, P_NONE, SC_NONE, NULL },
	{ "POST", "/api/v1/tokens", "/api/v1/tokens",
	  "{\"username\":\"admin\",\"label\":\"sweep {n}\"}", P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/users/:username", "/api/v1/users/admin", NULL, P_NONE, SC_NONE, NULL },
	{ "PATCH", "/api/v1/users/:username", "/api/v1/users/target{n}", "{\"role\":\"manager\"}",
	  P_USER, SC_NONE, NULL },
	{ "GET", "/api/v1/tokens", "/api/v1/tokens", NULL, P_NONE, SC_NONE, NULL },
	{ "DELETE", "/api/v1/tokens/:id", "/api/v1/tokens/{svc}", NULL, P_TOKEN, SC_NONE, NULL },
	{ "POST", "/api/v1/studies", "/api/v1/studies",
	  "{\"code\":\"ST{n}\",\"name\":\"Study {n}\"}", P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/studies", "/api/v1/studies", NULL, P_NONE, SC_LIST, "\"MASC\"" },
	{ "GET", "/api/v1/studies/:code", "/api/v1/studies/MASC", NULL, P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/participants", "/api/v1/participants",
	  "{\"study\":\"MASC\",\"code\":\"N{n}\",\"sex\":\"female\",\"birth_year\":1970,"
	  "\"diagnosis\":\"DM\"}",
	  P_NONE, SC_BODY, NULL },
	{ "GET", "/api/v1/participants", "/api/v1/participants", NULL, P_NONE, SC_LIST,
	  "\"P001\"" },
	{ "GET", "/api/v1/participants/:study/:code", "/api/v1/participants/MASC/P001", NULL,
	  P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/participants/:study/:code/consents",
	  "/api/v1/participants/MASC/P001/consents",
	  "{\"scope\":\"genetic\",\"status\":\"given\",\"date\":\"2026-01-05\",\"version\":\"v{n}"
	  "\"}",
	  P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimen-types", "/api/v1/specimen-types",
	  "{\"code\":\"type{n}\",\"name\":\"Type {n}\"}", P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/specimen-types", "/api/v1/specimen-types", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/diagnoses", "/api/v1/diagnoses", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/audit-log", "/api/v1/audit-log", NULL, P_NONE, SC_NONE, NULL },
	/* protocols, visits, completeness (issue 17): MASC has SWEEP_PROTOCOL */
	{ "GET", "/api/v1/studies/:code/protocol", "/api/v1/studies/MASC/protocol", NULL, P_NONE,
	  SC_OBJECT, NULL },
	{ "PUT", "/api/v1/studies/:code/protocol", "/api/v1/studies/MASC/protocol", SWEEP_PROTOCOL,
	  P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/studies/:code/protocol/versions",
	  "/api/v1/studies/MASC/protocol/versions", NULL, P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/studies/:code/protocol/versions/:version",
	  "/api/v1/studies/MASC/protocol/versions/1", NULL, P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/studies/:code/timepoint-mappings",
	  "/api/v1/studies/MASC/timepoint-mappings",
	  "{\"mappings\":[{\"from\":\"0m\",\"to\":\"m0\"}],\"reason\":\"sweep {n}\","
	  "\"dry_run\":true}",
	  P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/studies/:code/completeness", "/api/v1/studies/MASC/completeness", NULL,
	  P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/participants/:study/:code/visits",
	  "/api/v1/participants/MASC/P001/visits", NULL, P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/participants/:study/:code/visits/:timepoint",
	  "/api/v1/participants/MASC/P002/visits/y9",
	  "{\"status\":\"missed\",\"reason\":\"sweep {n}\"}", P_NONE, SC_OBJECT, NULL },
	{ "PUT", "/api/v1/participants/:study/:code/enrolment",
	  "/api/v1/participants/MASC/P002/enrolment", "{\"date\":\"2025-01-10\"}", P_NONE,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/sprec-codes", "/api/v1/sprec-codes", NULL, P_NONE, SC_NONE, NULL },

	{ "POST", "/api/v1/specimens", "/api/v1/specimens",
	  "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	  "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
	  P_NONE, SC_BODY, NULL },
	{ "GET", "/api/v1/specimens", "/api/v1/specimens", NULL, P_NONE, SC_LIST, "{fixed}" },
	{ "GET", "/api/v1/specimens/:id", "/api/v1/specimens/{fixed}", NULL, P_NONE, SC_OBJECT,
	  NULL },
	{ "GET", "/api/v1/specimens/:id/events", "/api/v1/specimens/{fixed}/events", NULL, P_NONE,
	  SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/aliquots", "/api/v1/specimens/{tube}/aliquots",
	  "{\"count\":2}", P_REGISTERED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/derivatives", "/api/v1/specimens/{tube}/derivatives",
	  "{\"type\":\"dna\"}", P_REGISTERED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/tube-barcode", "/api/v1/specimens/{tube}/tube-barcode",
	  "{\"tube_barcode\":\"TB-{n}\"}", P_REGISTERED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/store", "/api/v1/specimens/{tube}/store",
	  "{\"box\":\"{box}\",\"position\":\"B1\"}", P_REGISTERED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/move", "/api/v1/specimens/{tube}/move",
	  "{\"box\":\"{box}\",\"position\":\"B1\"}", P_STORED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/checkout", "/api/v1/specimens/{tube}/checkout",
	  "{\"reason\":\"assay\"}", P_STORED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/return", "/api/v1/specimens/{tube}/return",
	  "{\"box\":\"{box}\",\"position\":\"B1\",\"thawed\":true}", P_OUT, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/consume", "/api/v1/specimens/{tube}/consume",
	  "{\"reason\":\"used up\"}", P_STORED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/lost", "/api/v1/specimens/{tube}/lost",
	  "{\"reason\":\"not in its box\"}", P_STORED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/found", "/api/v1/specimens/{tube}/found",
	  "{\"box\":\"{box}\",\"position\":\"B1\"}", P_LOST, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/destroy", "/api/v1/specimens/{tube}/destroy",
	  "{\"reason\":\"expired\"}", P_STORED, SC_OBJECT, NULL },
	{ "PATCH", "/api/v1/specimens/:id", "/api/v1/specimens/{tube}",
	  "{\"notes\":\"sweep {n}\",\"reason\":\"typed on the wrong tube\"}", P_REGISTERED,
	  SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/entered-in-error",
	  "/api/v1/specimens/{tube}/entered-in-error", "{\"reason\":\"registered twice\"}",
	  P_STORED, SC_OBJECT, NULL },
	{ "PATCH", "/api/v1/participants/:study/:code", "/api/v1/participants/MASC/P001",
	  "{\"sex\":\"female\",\"reason\":\"checked against the consent form\"}", P_NONE, SC_OBJECT,
	  NULL },
	{ "POST", "/api/v1/boxes/:barcode/placements", "/api/v1/boxes/{box}/placements",
	  "{\"placements\":[{\"position\":\"C3\",\"specimen\":\"{tube}\"}]}", P_REGISTERED,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/ledger/verify", "/api/v1/ledger/verify", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/ledger/key", "/api/v1/ledger/key", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/ledger/checkpoint", "/api/v1/ledger/checkpoint", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/ledger/witnesses", "/api/v1/ledger/witnesses", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/ledger/proof/inclusion",
	  "/api/v1/ledger/proof/inclusion?specimen={fixed}&seq=1", NULL, P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/ledger/proof/consistency", "/api/v1/ledger/proof/consistency?from=1",
	  NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/specimens/:id/history-bundle", "/api/v1/specimens/{fixed}/history-bundle",
	  NULL, P_NONE, SC_OBJECT, NULL },
	/* The daemon witnesses its own log: the checkpoint it saw, cosigned again. */
	{ "POST", "/api/v1/witness/checkpoints", "/api/v1/witness/checkpoints",
	  "{\"checkpoint\":\"{ckpt}\",\"old_size\":{ckpt_size}}", P_NONE, SC_NONE, NULL },

	{ "POST", "/api/v1/audits", "/api/v1/audits", "{\"box\":\"{box}\"}", P_STORED, SC_NONE,
	  NULL },
	/* A dry run (nothing written): a limited caller gets the report, which names the
	 * study it may not import into as a problem of the row. The body is a file (text/csv). */
	{ "POST", "/api/v1/imports", "/api/v1/imports",
	  "study,participant_code,sex,diagnosis,specimen_type,timepoint,collected_at\n"
	  "MASC,SW{n},F,DM,serum,m0,2026-01-01T10:00:00Z\n",
	  P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/imports/template", "/api/v1/imports/template", NULL, P_NONE, SC_NONE,
	  NULL },
	/* An import's progress is its sender's alone, whatever their studies (issue 19). */
	{ "GET", "/api/v1/imports/:id/progress", "/api/v1/imports/{import}/progress", NULL,
	  P_IMPORT, SC_NONE, NULL },
	/* An audit covers the studies of who started it: an admin's, every study. */
	/* the audit list (issue 19): an audit of every study is no SSC manager's to see */
	{ "GET", "/api/v1/audits", "/api/v1/audits", NULL, P_AUDIT, SC_LIST, "\"id\": {audit}," },
	{ "GET", "/api/v1/audits/:id", "/api/v1/audits/{audit}", NULL, P_AUDIT, SC_OBJECT, NULL },
	{ "POST", "/api/v1/audits/:id/scans", "/api/v1/audits/{audit}/scans",
	  "{\"scans\":[{\"position\":\"A1\",\"barcode\":null}]}", P_AUDIT, SC_OBJECT, NULL },
	{ "POST", "/api/v1/audits/:id/close", "/api/v1/audits/{audit}/close",
	  "{\"resolutions\":[]}", P_AUDIT, SC_OBJECT, NULL },

	{ "POST", "/api/v1/locations", "/api/v1/locations",
	  "{\"kind\":\"shelf\",\"name\":\"Shelf {n}\",\"parent\":{freezer}}", P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/locations", "/api/v1/locations", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/locations/:id", "/api/v1/locations/{loc}", NULL, P_NONE, SC_NONE, NULL },
	{ "POST", "/api/v1/boxes", "/api/v1/boxes",
	  "{\"barcode\":\"NEW-{n}\",\"rows\":9,\"cols\":9,\"parent\":{loc}}", P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/boxes", "/api/v1/boxes", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/boxes/:barcode", "/api/v1/boxes/BOX-A", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/boxes/:barcode/grid", "/api/v1/boxes/BOX-A/grid", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/boxes/:barcode/free", "/api/v1/boxes/BOX-A/free?count=2", NULL, P_NONE,
	  SC_NONE, NULL },
	/* An empty box belongs to no study: a limited caller moves it as any. */
	{ "POST", "/api/v1/boxes/:barcode/move", "/api/v1/boxes/{box}/move", "{\"to\":{freezer}}",
	  P_REGISTERED, SC_NONE, NULL },
	{ "POST", "/api/v1/box-moves", "/api/v1/box-moves",
	  "{\"moves\":[{\"box\":\"{box}\",\"to\":{freezer}}]}", P_REGISTERED, SC_NONE, NULL },
	{ "POST", "/api/v1/boxes/:barcode/rename", "/api/v1/boxes/{box}/rename",
	  "{\"barcode\":\"REN-{n}\"}", P_REGISTERED, SC_NONE, NULL },
	{ "GET", "/api/v1/scan/:value", "/api/v1/scan/{fixed}", NULL, P_NONE, SC_OBJECT, NULL },
	/* container rules and capacity (issue 18) */
	{ "GET", "/api/v1/locations/:id/rules", "/api/v1/locations/{loc}/rules", NULL, P_NONE,
	  SC_NONE, NULL },
	{ "PUT", "/api/v1/locations/:id/rules", "/api/v1/locations/{loc}/rules", "{}", P_NONE,
	  SC_NONE, NULL },
	{ "GET", "/api/v1/boxes/:barcode/rules", "/api/v1/boxes/BOX-A/rules", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "PUT", "/api/v1/boxes/:barcode/rules", "/api/v1/boxes/{box}/rules", "{}", P_REGISTERED,
	  SC_NONE, NULL },
	{ "PUT", "/api/v1/specimen-types/:code/storage", "/api/v1/specimen-types/serum/storage",
	  "{}", P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/locations/:id/capacity", "/api/v1/locations/{loc}/capacity", NULL, P_NONE,
	  SC_NONE, NULL },
	{ "GET", "/api/v1/capacity", "/api/v1/capacity?grid=9x9&boxes=1&type=serum", NULL, P_NONE,
	  SC_NONE, NULL },
	/* A proposal writes nothing; a MASC tube is unknown to a caller limited to SSC. */
	{ "POST", "/api/v1/allocations", "/api/v1/allocations",
	  "{\"specimens\":[\"{tube}\"],\"strategy\":\"fill-first\"}", P_REGISTERED, SC_BODY, NULL },
	{ "POST", "/api/v1/allocations/accept", "/api/v1/allocations/accept",
	  "{\"placements\":[{\"specimen\":\"{tube}\",\"box\":\"{box}\",\"position\":\"B2\"}]}",
	  P_REGISTERED, SC_BODY, NULL },
	/* temperatures, exposure, maintenance, evacuation (issue 18): the same reading again
	 * is unchanged, so every request is served */
	{ "POST", "/api/v1/locations/:id/temperatures", "/api/v1/locations/{freezer}/temperatures",
	  "{\"at\":\"2025-06-01T00:00:00Z\",\"temperature_c\":-80}", P_NONE, SC_NONE, NULL },
	{ "POST", "/api/v1/temperatures", "/api/v1/temperatures",
	  "sensor,location_barcode,time,temperature_c\nS1,FRZ-SWEEP,2025-06-01T00:00:00Z,-80\n",
	  P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/locations/:id/temperatures", "/api/v1/locations/{freezer}/temperatures",
	  NULL, P_NONE, SC_NONE, NULL },
	{ "PUT", "/api/v1/locations/:id/temperature-limit",
	  "/api/v1/locations/{loc}/temperature-limit", "{}", P_NONE, SC_NONE, NULL },
	/* The excursion of the site made at set-up (the first: id 1); its tubes are listed
	 * within the caller's studies. */
	{ "GET", "/api/v1/excursions/:id", "/api/v1/excursions/1", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/specimens/:id/exposure", "/api/v1/specimens/{fixed}/exposure", NULL,
	  P_NONE, SC_OBJECT, NULL },
	{ "PUT", "/api/v1/specimen-types/:code/limits", "/api/v1/specimen-types/serum/limits", "{}",
	  P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/reports/exposure", "/api/v1/reports/exposure", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "POST", "/api/v1/locations/:id/maintenance", "/api/v1/locations/{freezer}/maintenance",
	  "{\"kind\":\"service\",\"due_on\":\"2030-01-01\"}", P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/locations/:id/maintenance", "/api/v1/locations/{freezer}/maintenance",
	  NULL, P_NONE, SC_NONE, NULL },
	{ "POST", "/api/v1/maintenance/:id/done", "/api/v1/maintenance/{task}/done", "{}", P_TASK,
	  SC_NONE, NULL },
	{ "GET", "/api/v1/maintenance/overdue", "/api/v1/maintenance/overdue", NULL, P_NONE,
	  SC_NONE, NULL },
	{ "GET", "/api/v1/locations/:id/evacuation", "/api/v1/locations/{loc}/evacuation", NULL,
	  P_NONE, SC_NONE, NULL },
	/* An empty box belongs to no study: a limited caller evacuates it as any. */
	{ "POST", "/api/v1/locations/:id/evacuation", "/api/v1/locations/{loc}/evacuation",
	  "{\"moves\":[{\"box\":\"{box}\",\"to\":{freezer}}]}", P_RACK, SC_NONE, NULL },

	{ "POST", "/api/v1/shipments", "/api/v1/shipments",
	  "{\"destination\":\"Sequencing core\",\"conditions\":\"dry_ice\"}", P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/shipments", "/api/v1/shipments", NULL, P_SHIPMENT, SC_LIST,
	  "\"id\": {ship}," },
	{ "GET", "/api/v1/shipments/:id", "/api/v1/shipments/{ship}", NULL, P_SHIPMENT, SC_OBJECT,
	  NULL },
	{ "POST", "/api/v1/shipments/:id/specimens", "/api/v1/shipments/{ship}/specimens",
	  "{\"specimens\":[\"{tube2}\"]}", P_SHIPMENT, SC_OBJECT, NULL },
	{ "DELETE", "/api/v1/shipments/:id/specimens/:specimen",
	  "/api/v1/shipments/{ship}/specimens/{tube}", NULL, P_SHIPMENT, SC_OBJECT, NULL },
	{ "POST", "/api/v1/shipments/:id/dispatch", "/api/v1/shipments/{ship}/dispatch", NULL,
	  P_SHIPMENT, SC_OBJECT, NULL },
	{ "POST", "/api/v1/shipments/:id/receipt", "/api/v1/shipments/{ship}/receipt",
	  "{\"received_at\":\"{now}\"}", P_SHIPPED, SC_OBJECT, NULL },
	{ "GET", "/api/v1/reports/inventory", "/api/v1/reports/inventory", NULL, P_NONE, SC_LIST,
	  "\"MASC\"" },
	{ "GET", "/api/v1/reports/audit-coverage", "/api/v1/reports/audit-coverage?days=30", NULL,
	  P_NONE, SC_NONE, NULL },
	{ "GET", "/api/v1/reports/occupancy", "/api/v1/reports/occupancy", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/reports/consent-withdrawn", "/api/v1/reports/consent-withdrawn", NULL,
	  P_WITHDRAWN, SC_LIST, "{tube}" },
	{ "POST", "/api/v1/reports/consent-withdrawn/destroy",
	  "/api/v1/reports/consent-withdrawn/destroy",
	  "{\"specimens\":[\"{tube}\"],\"reason\":\"consent withdrawn\"}", P_WITHDRAWN, SC_BODY,
	  NULL },
	{ "GET", "/api/v1/specimens/:id/fhir", "/api/v1/specimens/{fixed}/fhir", NULL, P_NONE,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/fhir/Specimen", "/api/v1/fhir/Specimen", NULL, P_NONE, SC_LIST,
	  "{fixed}" },
	{ "GET", "/api/v1/fhir/Specimen/:id", "/api/v1/fhir/Specimen/{fixed}", NULL, P_NONE,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/fhir/metadata", "/api/v1/fhir/metadata", NULL, P_NONE, SC_NONE, NULL },
	/* MASC/P001, the first participant of the world (tests/api/world.h) */
	{ "GET", "/api/v1/fhir/Patient/:id", "/api/v1/fhir/Patient/1", NULL, P_NONE, SC_OBJECT,
	  NULL },
	/* Main lab, the first location of the world; MASC, its first study */
	{ "GET", "/api/v1/fhir/Location/:id", "/api/v1/fhir/Location/1", NULL, P_NONE, SC_NONE,
	  NULL },
	{ "GET", "/api/v1/fhir/ResearchStudy/:id", "/api/v1/fhir/ResearchStudy/1", NULL, P_NONE,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/fhir/Group/:id", "/api/v1/fhir/Group/1", NULL, P_NONE, SC_OBJECT, NULL },
	/* FHIR Bulk Data (api/fhir_export.c): a Group export is MASC's; the system-level one is
	 * whatever the caller sees; an export covering every study is out of a limited caller's. */
	{ "GET", "/api/v1/fhir/Group/:id/$export", "/api/v1/fhir/Group/1/$export", NULL, P_NONE,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/fhir/$export", "/api/v1/fhir/$export?_type=ResearchStudy", NULL, P_NONE,
	  SC_NONE, NULL },
	{ "GET", "/api/v1/fhir/bulk/:job", "/api/v1/fhir/bulk/{export}", NULL, P_EXPORT, SC_OBJECT,
	  NULL },
	{ "DELETE", "/api/v1/fhir/bulk/:job", "/api/v1/fhir/bulk/{export}", NULL, P_EXPORT,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/fhir/bulk/:job/:type/:part", "/api/v1/fhir/bulk/{export}/Specimen/1",
	  NULL, P_EXPORT, SC_OBJECT, NULL },

	/* the catalogue, specimen requests, MIABIS (docs/api-requests.md) */
	{ "GET", "/api/v1/catalogue", "/api/v1/catalogue", NULL, P_REQUEST, SC_LIST, "\"MASC\"" },
	{ "GET", "/api/v1/reports/miabis", "/api/v1/reports/miabis", NULL, P_NONE, SC_LIST,
	  "\"MASC\"" },
	{ "PUT", "/api/v1/studies/:code/last-aliquot", "/api/v1/studies/MASC/last-aliquot",
	  "{\"keep\":true}", P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests", "/api/v1/requests", REQUEST_BODY, P_NONE, SC_BODY, NULL },
	{ "GET", "/api/v1/requests", "/api/v1/requests", NULL, P_REQUEST, SC_LIST,
	  "\"id\": {req}," },
	{ "GET", "/api/v1/requests/:id", "/api/v1/requests/{req}", NULL, P_REQUEST, SC_OBJECT,
	  NULL },
	{ "POST", "/api/v1/requests/:id/approve", "/api/v1/requests/{req}/approve", "{}", P_REQUEST,
	  SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests/:id/reject", "/api/v1/requests/{req}/reject",
	  "{\"reason\":\"no ethics approval\"}", P_REQUEST, SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests/:id/allocate", "/api/v1/requests/{req}/allocate", NULL,
	  P_APPROVED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests/:id/specimens", "/api/v1/requests/{req}/specimens",
	  "{\"specimens\":[\"{tube2}\"]}", P_ALLOCATED, SC_OBJECT, NULL },
	{ "DELETE", "/api/v1/requests/:id/specimens/:specimen",
	  "/api/v1/requests/{req}/specimens/{tube}", NULL, P_ALLOCATED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests/:id/release", "/api/v1/requests/{req}/release", "{}",
	  P_ALLOCATED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests/:id/close", "/api/v1/requests/{req}/close", "{}", P_ALLOCATED,
	  SC_OBJECT, NULL },
	{ "GET", "/api/v1/requests/:id/pick-list", "/api/v1/requests/{req}/pick-list", NULL,
	  P_ALLOCATED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests/:id/picks", "/api/v1/requests/{req}/picks",
	  "{\"specimen\":\"{tube}\"}", P_ALLOCATED, SC_OBJECT, NULL },
	{ "POST", "/api/v1/requests/:id/shipments", "/api/v1/requests/{req}/shipments",
	  "{\"destination\":\"Genomics core\",\"conditions\":\"dry_ice\"}", P_PICKED, SC_OBJECT,
	  NULL },
	{ "POST", "/api/v1/requests/:id/returns", "/api/v1/requests/{req}/returns",
	  "{\"items\":[{\"specimen\":\"{tube}\",\"consumed\":1}]}", P_REQ_SHIPPED, SC_OBJECT,
	  NULL },

	{ "GET", "/", "/", NULL, P_NONE, SC_NONE, NULL },
	{ "GET", "/ui/*", "/ui/js/api.js", NULL, P_NONE, SC_NONE, NULL },

	{ "GET", "/api/v1/labels", "/api/v1/labels?ids={fixed}", NULL, P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/specimens/:id/label.png", "/api/v1/specimens/{fixed}/label.png", NULL,
	  P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/specimens/:id/label.svg", "/api/v1/specimens/{fixed}/label.svg", NULL,
	  P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/specimens/:id/label-printed", "/api/v1/specimens/{fixed}/label-printed",
	  "{\"printer\":\"bench\",\"copies\":1}", P_NONE, SC_OBJECT, NULL },
	{ "POST", "/api/v1/print", "/api/v1/print", "{\"ids\":[\"{fixed}\"],\"printer\":\"bench\"}",
	  P_NONE, SC_OBJECT, NULL },
	{ "GET", "/api/v1/print-jobs", "/api/v1/print-jobs", NULL, P_PRINT_JOB, SC_LIST,
	  "{fixed}" },
	{ "GET", "/api/v1/print-jobs/:id", "/api/v1/print-jobs/{job}", NULL, P_PRINT_JOB, SC_OBJECT,
	  NULL },
	{ "POST", "/api/v1/print-jobs/:id/retry", "/api/v1/print-jobs/{job}/retry", NULL,
	  P_PRINT_JOB, SC_OBJECT, NULL },
};

static const char *const role_names[ROLE__MAX] = { "admin",   "manager", "technician",
	                                           "auditor", "printer", "researcher" };

struct caller {
	enum role role;
	bool limited; /* to study SSC */
	char name[32];
	char token[128];
};

/* The placeholders' values for one request. */
struct ctx {
	char n[16], fixed[16], tube[16], tube2[16], box[32], loc[16], freezer[16], audit[16],
	    ship[16], job[16], now[48], own[16], barcode[32], participant[16], req[16], task[16];
	char svc[24];
	char export[48];
	char import[48];
	char token[128];
};

static struct tenv t;
static int serial;
static char fixed_tube[16], rack_id[16], freezer_id[16];
/* A researcher of every study who files the requests the sweep aims at. */
static char filer_token[128];
/* The fixed tube's checkpoint, JSON-escaped, and its size: what the witness saw. */
static char ckpt_json[1024], ckpt_size[24];

static void
fail_setup(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(1);
}

static void
sql_must(const char *sql)
{
	bool ok_sql;

	free(sql_value(&t, sql, &ok_sql));
	if (!ok_sql)
		fail_setup(sql);
}

/* An admin request that must succeed while preparing; returns the answer. */
static void
admin_must(const char *method, const char *path, const char *body, long want, struct resp *r)
{
	api(&t, method, path, t.admin_token, body, r);
	if (r->status != want) {
		tap_diag("prepare: %s %s: %ld %s", method, path, r->status, r->body);
		fail_setup("cannot prepare the sweep's objects");
	}
}

static void
new_box(struct ctx *c)
{
	char sql[256];

	snprintf(c->box, sizeof(c->box), "SWEEP-%d", serial);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO boxes (barcode, rows, cols, location_id) VALUES ('%s', 9, 9, %s)",
	         c->box, rack_id);
	sql_must(sql);
}

static void
new_tube(struct ctx *c, char out[16], const char *participant)
{
	if (!world_register(&t, "MASC", participant, "serum", out))
		fail_setup("cannot register a tube");
	(void)c;
}

static void
tube_act(const char *tube, const char *action, const char *body)
{
	char path[96];
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/specimens/%s/%s", tube, action);
	admin_must("POST", path, body, 200, &r);
	resp_free(&r);
}

static void
store_at(const char *tube, const char *box, const char *pos)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"box\":\"%s\",\"position\":\"%s\"}", box, pos);
	tube_act(tube, "store", body);
}

/* A MASC/P001 tube with a tube barcode. */
static void
new_barcoded_tube(char id[16], const char *barcode)
{
	char body[512];
	struct resp r;

	snprintf(body, sizeof(body),
	         "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	         "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	         "\"quantity\":{\"value\":2,\"unit\":\"mL\"},\"tube_barcode\":\"%s\"}",
	         barcode);
	admin_must("POST", "/api/v1/specimens", body, 201, &r);
	snprintf(id, 16, "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
	resp_free(&r);
}

/* A request of the caller's that must succeed while preparing. */
static void
caller_must(const struct ctx *c, const char *path, const char *body, long want, struct resp *r)
{
	api(&t, "POST", path, c->token, body, r);
	if (r->status != want) {
		tap_diag("prepare: POST %s as the caller: %ld %s", path, r->status, r->body);
		fail_setup("cannot prepare the matrix's objects");
	}
}

static void expand(const char *tpl, const struct ctx *c, char *out, size_t cap);

static void
prepare(enum prep prep, const struct caller *who, struct ctx *c)
{
	char body[256], sql[512];
	struct resp r;

	memset(c, 0, sizeof(*c));
	serial++;
	snprintf(c->n, sizeof(c->n), "%d", serial);
	snprintf(c->fixed, sizeof(c->fixed), "%s", fixed_tube);
	snprintf(c->loc, sizeof(c->loc), "%s", rack_id);
	snprintf(c->freezer, sizeof(c->freezer), "%s", freezer_id);
	snprintf(c->token, sizeof(c->token), "%s", who->token);
	snprintf(c->participant, sizeof(c->participant), "P001");
	switch (prep) {
	case P_NONE:
		break;
	case P_MIXED:
	case P_OWN_AUDIT:
	case P_OWN_SCANNED:
	case P_OWN_DRAFT:
		new_box(c);
		snprintf(c->barcode, sizeof(c->barcode), "XS-%d", serial);
		new_barcoded_tube(c->tube, c->barcode);
		store_at(c->tube, c->box, "A1");
		if (!world_register(&t, "SSC", "S001", "serum", c->own))
			fail_setup("cannot register an SSC tube");
		if (prep == P_OWN_DRAFT) {
			caller_must(c, "/api/v1/shipments",
			            "{\"destination\":\"SSC core\",\"conditions\":\"dry_ice\"}",
			            201, &r);
			snprintf(c->ship, sizeof(c->ship), "%.0f", jnum(&r, "id", 0));
			resp_free(&r);
		}
		if (prep == P_OWN_AUDIT || prep == P_OWN_SCANNED) {
			snprintf(body, sizeof(body), "{\"box\":\"%s\"}", c->box);
			caller_must(c, "/api/v1/audits", body, 201, &r);
			snprintf(c->audit, sizeof(c->audit), "%.0f", jnum(&r, "id", 0));
			resp_free(&r);
		}
		if (prep == P_OWN_SCANNED) {
			snprintf(sql, sizeof(sql), "/api/v1/audits/%s/scans", c->audit);
			snprintf(body, sizeof(body),
			         "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"%s\"}]}", c->tube);
			caller_must(c, sql, body, 200, &r);
			resp_free(&r);
		}
		break;
	case P_RACK:
	case P_RACK_MASC: {
		snprintf(sql, sizeof(sql),
		         "INSERT INTO locations (parent_id, kind, name) VALUES (%s, 'rack',"
		         " 'Sweep rack %d') RETURNING id",
		         freezer_id, serial);
		bool ok_sql;
		char *v = sql_value(&t, sql, &ok_sql);
		if (!ok_sql || v == NULL)
			fail_setup("cannot make a rack");
		snprintf(c->loc, sizeof(c->loc), "%s", v);
		free(v);
		new_box(c);
		snprintf(sql, sizeof(sql), "UPDATE boxes SET location_id = %s WHERE barcode = '%s'",
		         c->loc, c->box);
		sql_must(sql);
		if (prep == P_RACK_MASC) {
			new_tube(c, c->tube, "P001");
			store_at(c->tube, c->box, "A1");
		}
		break;
	}
	case P_TASK: {
		snprintf(sql, sizeof(sql),
		         "INSERT INTO maintenance_tasks (location_id, kind, due_on, created_by)"
		         " VALUES (%s, 'alarm_test', '2020-01-01', 'sweep') RETURNING id",
		         freezer_id);
		bool ok_sql;
		char *v = sql_value(&t, sql, &ok_sql);
		if (!ok_sql || v == NULL)
			fail_setup("cannot make a maintenance task");
		snprintf(c->task, sizeof(c->task), "%s", v);
		free(v);
		break;
	}
	case P_REGISTERED:
	case P_STORED:
	case P_OUT:
	case P_LOST:
	case P_AUDIT:
		new_box(c);
		new_tube(c, c->tube, "P001");
		if (prep == P_REGISTERED)
			break;
		store_at(c->tube, c->box, "A1");
		if (prep == P_OUT)
			tube_act(c->tube, "checkout", "{\"reason\":\"sweep\"}");
		if (prep == P_LOST)
			tube_act(c->tube, "lost", "{\"reason\":\"sweep\"}");
		if (prep == P_AUDIT) {
			snprintf(body, sizeof(body), "{\"box\":\"%s\"}", c->box);
			admin_must("POST", "/api/v1/audits", body, 201, &r);
			snprintf(c->audit, sizeof(c->audit), "%.0f", jnum(&r, "id", 0));
			resp_free(&r);
		}
		break;
	case P_WITHDRAWN:
		snprintf(sql, sizeof(sql),
		         "INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
		         " SELECT id, 'W%d', 'male', 1960, 'PM' FROM studies WHERE code = 'MASC'",
		         serial);
		sql_must(sql);
		snprintf(body, sizeof(body), "W%d", serial);
		snprintf(c->participant, sizeof(c->participant), "W%d", serial);
		new_tube(c, c->tube, body);
		snprintf(sql, sizeof(sql), "/api/v1/participants/MASC/W%d/consents", serial);
		admin_must(
		    "POST", sql,
		    "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2026-03-02\","
		    "\"version\":\"v1\"}",
		    201, &r);
		resp_free(&r);
		break;
	case P_SHIPMENT:
	case P_SHIPPED:
		new_box(c);
		new_tube(c, c->tube, "P001");
		new_tube(c, c->tube2, "P001");
		store_at(c->tube, c->box, "A1");
		store_at(c->tube2, c->box, "A2");
		admin_must("POST", "/api/v1/shipments",
		           "{\"destination\":\"Proteomics lab\",\"conditions\":\"dry_ice\"}", 201,
		           &r);
		snprintf(c->ship, sizeof(c->ship), "%.0f", jnum(&r, "id", 0));
		resp_free(&r);
		snprintf(sql, sizeof(sql), "/api/v1/shipments/%s/specimens", c->ship);
		snprintf(body, sizeof(body), "{\"specimens\":[\"%s\"]}", c->tube);
		admin_must("POST", sql, body, 200, &r);
		resp_free(&r);
		if (prep == P_SHIPPED) {
			snprintf(sql, sizeof(sql), "/api/v1/shipments/%s/dispatch", c->ship);
			admin_must("POST", sql, NULL, 200, &r);
			resp_free(&r);
		}
		break;
	case P_REQUEST:
	case P_APPROVED:
	case P_ALLOCATED:
	case P_PICKED:
	case P_REQ_SHIPPED: {
		const char *filer =
		    who->role == ROLE_RESEARCHER && !who->limited ? who->token : filer_token;
		char code[16], path[96], req_body[1024];

		snprintf(code, sizeof(code), "R%d", serial);
		snprintf(sql, sizeof(sql),
		         "INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)"
		         " SELECT id, '%s', 'female', 1970, 'DM' FROM studies WHERE code = 'MASC'",
		         code);
		sql_must(sql);
		snprintf(path, sizeof(path), "/api/v1/participants/MASC/%s/consents", code);
		admin_must("POST", path,
		           "{\"scope\":\"biobank\",\"status\":\"given\",\"date\":\"2026-01-02\","
		           "\"version\":\"v1\"}",
		           201, &r);
		resp_free(&r);
		new_box(c);
		/* A timepoint of its own: no other prep's tube matches the request. MASC has a
		 * protocol, so it gets a version with that timepoint too (the tubes registered
		 * keep theirs). */
		snprintf(req_body, sizeof(req_body),
		         "{\"timepoints\":[" SWEEP_TIMEPOINTS
		         ",{\"code\":\"t%s\",\"label\":\"T%s\","
		         "\"day_offset\":0}]}",
		         c->n, c->n);
		admin_must("PUT", "/api/v1/studies/MASC/protocol", req_body, 200, &r);
		resp_free(&r);
		for (int i = 0; i < 2; i++) {
			snprintf(req_body, sizeof(req_body),
			         "{\"participant\":{\"study\":\"MASC\",\"code\":\"%s\"},"
			         "\"type\":\"serum\",\"timepoint\":\"t%s\","
			         "\"collected_at\":\"2026-03-01T09:30:00Z\","
			         "\"quantity\":{\"value\":2,\"unit\":\"mL\"}}",
			         code, c->n);
			admin_must("POST", "/api/v1/specimens", req_body, 201, &r);
			snprintf(i ? c->tube2 : c->tube, 16, "%s",
			         jstr(&r, "id") ? jstr(&r, "id") : "");
			resp_free(&r);
		}
		store_at(c->tube, c->box, "A1");
		store_at(c->tube2, c->box, "A2");
		expand(REQUEST_BODY, c, req_body, sizeof(req_body));
		api(&t, "POST", "/api/v1/requests", filer, req_body, &r);
		if (r.status != 201) {
			tap_diag("prepare: a request: %ld %s", r.status, r.body);
			fail_setup("cannot file a request");
		}
		snprintf(c->req, sizeof(c->req), "%.0f", jnum(&r, "id", 0));
		resp_free(&r);
		static const char *const steps[][2] = {
			{ "approve", "{}" },
			{ "allocate", NULL },
			{ "picks", "{\"specimen\":\"{tube}\"}" },
			{ "shipments", "{\"destination\":\"Core\",\"conditions\":\"dry_ice\"}" },
		};
		int nsteps = prep == P_APPROVED      ? 1
		             : prep == P_ALLOCATED   ? 2
		             : prep == P_PICKED      ? 3
		             : prep == P_REQ_SHIPPED ? 4
		                                     : 0;
		for (int i = 0; i < nsteps; i++) {
			snprintf(path, sizeof(path), "/api/v1/requests/%s/%s", c->req, steps[i][0]);
			if (steps[i][1] != NULL)
				expand(steps[i][1], c, body, sizeof(body));
			admin_must("POST", path, steps[i][1] ? body : NULL, i == 3 ? 201 : 200, &r);
			if (i == 3)
				snprintf(c->ship, sizeof(c->ship), "%.0f", jnum(&r, "id", 0));
			resp_free(&r);
		}
		if (prep == P_REQ_SHIPPED) {
			snprintf(path, sizeof(path), "/api/v1/shipments/%s/dispatch", c->ship);
			admin_must("POST", path, NULL, 200, &r);
			resp_free(&r);
		}
		break;
	}
	case P_PRINT_JOB: {
		bool ok_sql;

		snprintf(sql, sizeof(sql),
		         "INSERT INTO print_jobs (actor, printer, specimens, copies, template, dpi,"
		         " state, error, finished_at, send_deadline) VALUES ('admin', 'bench',"
		         " ARRAY['%s'], 1, 'cryo-1.28x0.5in', 203, 'failed', 'sweep', now(), now())"
		         " RETURNING id",
		         c->fixed);
		char *id = sql_value(&t, sql, &ok_sql);
		if (!ok_sql || id == NULL)
			fail_setup("cannot make a print job");
		snprintf(c->job, sizeof(c->job), "%s", id);
		free(id);
		break;
	}
	case P_USER:
	case P_ACCOUNT: {
		bool own = prep == P_ACCOUNT;
		char pw[64];

		snprintf(pw, sizeof(pw), "%s-password-%s", own ? "own" : "target", c->n);
		snprintf(body, sizeof(body),
		         "{\"username\":\"%s%s\",\"password\":\"%s\",\"role\":\"%s\"%s}",
		         own ? "own" : "target", c->n, pw,
		         role_names[own ? who->role : ROLE_AUDITOR],
		         own && who->limited ? ",\"studies\":[\"SSC\"]" : "");
		admin_must("POST", "/api/v1/users", body, 201, &r);
		resp_free(&r);
		snprintf(body, sizeof(body), "%s%s", own ? "own" : "target", c->n);
		if (own && login(&t, body, pw, c->token) != 0)
			fail_setup("cannot open a session of a new account");
		break;
	}
	case P_TOKEN:
		snprintf(body, sizeof(body), "{\"username\":\"admin\",\"label\":\"to revoke %s\"}",
		         c->n);
		admin_must("POST", "/api/v1/tokens", body, 201, &r);
		snprintf(c->svc, sizeof(c->svc), "%.0f", jnum(&r, "id", 0));
		resp_free(&r);
		break;
	case P_EXPORT: {
		bool ok_sql;

		snprintf(
		    sql, sizeof(sql),
		    "WITH e AS (INSERT INTO fhir_exports (owner_id, study_id, types, request,"
		    " status, total, done, transaction_time, finished_at)"
		    " SELECT id, 1, '{Specimen}', 'sweep', 'done', 1, 1, now(), now() FROM users"
		    " WHERE username = '%s' RETURNING id),"
		    " c AS (INSERT INTO fhir_export_chunks (export_id, type, n, count, lines)"
		    " SELECT id, 'Specimen', 0, 1, '{\"resourceType\":\"Specimen\",\"id\":"
		    "\"%s\"}' || chr(10) FROM e) SELECT id FROM e",
		    who->name, c->fixed);
		char *id = sql_value(&t, sql, &ok_sql);
		if (!ok_sql || id == NULL)
			fail_setup("cannot make a FHIR export");
		snprintf(c->export, sizeof(c->export), "%s", id);
		free(id);
		break;
	}
	case P_IMPORT: {
		snprintf(c->import, sizeof(c->import), "sweep-import-%s", c->n);
		snprintf(sql, sizeof(sql),
		         "INSERT INTO import_progress (owner_id, id, dry_run, phase, outcome)"
		         " SELECT id, '%s', true, 'done', '{\"rows\": 1}' FROM users"
		         " WHERE username = '%s' ON CONFLICT (owner_id, id) DO NOTHING",
		         c->import, who->name);
		sql_exec(&t, sql);
		break;
	}
	case P_SESSION: {
		char pw[64];

		snprintf(pw, sizeof(pw), "%s-password", who->name);
		if (login(&t, who->name, pw, c->token) != 0)
			fail_setup("cannot open a session to end");
		break;
	}
	}
	/* After whatever was prepared (a dispatch, say), to the microsecond. */
	struct timespec now;
	char secs[24];
	clock_gettime(CLOCK_REALTIME, &now);
	strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", gmtime(&now.tv_sec));
	snprintf(c->now, sizeof(c->now), "%.19s.%06dZ", secs, (int)(now.tv_nsec / 1000));
}

/* Replace {name} with the context's values. */
static void
expand(const char *tpl, const struct ctx *c, char *out, size_t cap)
{
	const struct {
		const char *name, *val;
	} vars[] = {
		{ "{n}", c->n },
		{ "{fixed}", c->fixed },
		{ "{tube}", c->tube },
		{ "{tube2}", c->tube2 },
		{ "{box}", c->box },
		{ "{loc}", c->loc },
		{ "{audit}", c->audit },
		{ "{ship}", c->ship },
		{ "{freezer}", c->freezer },
		{ "{now}", c->now },
		{ "{job}", c->job },
		{ "{export}", c->export },
		{ "{import}", c->import },
		{ "{own}", c->own },
		{ "{barcode}", c->barcode },
		{ "{ckpt}", ckpt_json },
		{ "{ckpt_size}", ckpt_size },
		{ "{svc}", c->svc },
		{ "{req}", c->req },
		{ "{task}", c->task },
	};
	size_t o = 0;

	while (*tpl && o + 1 < cap) {
		bool done = false;

		for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && !done; i++) {
			size_t l = strlen(vars[i].name);

			if (strncmp(tpl, vars[i].name, l) == 0) {
				o += (size_t)snprintf(out + o, cap - o, "%s", vars[i].val);
				if (o >= cap)
					o = cap - 1;
				tpl += l;
				done = true;
			}
		}
		if (!done)
			out[o++] = *tpl++;
	}
	out[o] = '\0';
}

static const struct scase *
case_for(const struct route *rt)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].method, rt->method) == 0 &&
		    strcmp(cases[i].pattern, rt->pattern) == 0)
			return &cases[i];
	return NULL;
}

static long
writes_so_far(void)
{
	return count_sql(&t,
	                 "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM audit_log)"
	                 " + (SELECT count(*) FROM specimens) + (SELECT count(*) FROM shipments)");
}

/* One route against every caller; returns how many answers were wrong. */
static int
sweep_route(const struct route *rt, const struct scase *k, struct caller *callers, int ncallers)
{
	int wrong = 0;
	char path[512], body[1024], marker[64];

	for (int i = 0; i < ncallers; i++) {
		struct caller *who = &callers[i];
		struct ctx c;
		struct resp r;
		long want; /* 0: any 2xx */

		prepare(k->prep, who, &c);
		expand(k->path, &c, path, sizeof(path));
		if (k->body != NULL)
			expand(k->body, &c, body, sizeof(body));
		if (rt->roles == ROLES_PUBLIC)
			want = k->scope == SC_UNSET ? 404 : 0;
		else if ((rt->roles & R(who->role)) == 0)
			want = 403;
		else if (who->limited && (rt->roles & EVERY_STUDY))
			want = 403;
		else if (who->limited && k->scope == SC_OBJECT)
			want = 404;
		else if (who->limited && k->scope == SC_BODY)
			want = 400;
		else
			want = 0;
		bool is_write = strcmp(rt->method, "GET") != 0;
		long before = want && is_write ? writes_so_far() : 0;

		http(t.d.url, rt->method, path, c.token,
		     k->body && body[0] != '{' ? "text/csv" : NULL, k->body ? body : NULL,
		     k->body ? strlen(body) : 0, &r);
		bool good;
		if (want == 0) {
			good = r.status >= 200 && r.status < 300;
			if (good && who->limited && k->scope == SC_LIST) {
				expand(k->list_marker, &c, marker, sizeof(marker));
				good = strstr(r.body, marker) == NULL;
				if (!good)
					tap_diag("  %s %s as %s: the list shows %s of study MASC",
					         rt->method, path, who->name, marker);
			} else if (good && !who->limited && k->scope == SC_LIST) {
				expand(k->list_marker, &c, marker, sizeof(marker));
				good = strstr(r.body, marker) != NULL;
				if (!good)
					tap_diag("  %s %s as %s: the list misses %s", rt->method,
					         path, who->name, marker);
			}
		} else {
			/* The FHIR routes refuse with an OperationOutcome (api/fhir.h). */
			bool fhir = strstr(rt->pattern, "fhir") != NULL;
			good =
			    r.status == want &&
			    (fhir ? strncmp(r.content_type, "application/fhir+json", 21) == 0 &&
			                jstr(&r, "issue.0.details.coding.0.code") != NULL
			          : strncmp(r.content_type, "application/problem+json", 24) == 0 &&
			                (want != 400 || jstr(&r, "errors.0.field") != NULL));
			if (good && is_write && writes_so_far() != before) {
				good = false;
				tap_diag("  %s %s as %s: refused, yet the database changed",
				         rt->method, path, who->name);
			}
		}
		if (!good) {
			wrong++;
			tap_diag("  %s %s as %s: want %s, got %ld %.300s", rt->method, path,
			         who->name,
			         want == 403   ? "403"
			         : want == 404 ? "404"
			         : want == 400 ? "400 naming a field"
			                       : "2xx",
			         r.status, r.body);
		}
		resp_free(&r);
	}
	return wrong;
}

/*
 * The cross-study write matrix. Each case is a write of a token limited to
 * SSC aimed at MASC: at a MASC object, or at the caller's own object where
 * a MASC tube sits beside it. The routes that name no study's object say
 * why and send nothing.
 */
enum xwant {
	XW_REFUSED, /* a 4xx problem */
	XW_SERVED,  /* a 2xx: the caller's own object, MASC's left alone */
	XW_UNBOUND, /* the route names no object of a study: nothing to aim at */
};

struct xcase {
	const char *method, *pattern;
	const char *path, *body;
	enum prep prep;
	enum xwant want;
	const char *what; /* what it aims at, or why there is nothing to aim at */
};

static const struct xcase xcases[] = {
	{ "POST", "/api/v1/sessions", NULL, NULL, P_NONE, XW_UNBOUND, "a login" },
	{ "DELETE", "/api/v1/sessions/current", NULL, NULL, P_NONE, XW_UNBOUND,
	  "the caller's own session" },
	{ "PUT", "/api/v1/sessions/current/password", NULL, NULL, P_NONE, XW_UNBOUND,
	  "the caller's own password" },
	{ "POST", "/api/v1/users", NULL, NULL, P_NONE, XW_UNBOUND,
	  "an account (EVERY_STUDY: 403 to limited callers)" },
	{ "PUT", "/api/v1/users/:username/password", NULL, NULL, P_NONE, XW_UNBOUND,
	  "an account's password (EVERY_STUDY)" },
	{ "DELETE", "/api/v1/users/:username/tokens", NULL, NULL, P_NONE, XW_UNBOUND,
	  "an account's sessions and tokens (EVERY_STUDY)" },
	{ "POST", "/api/v1/tokens", NULL, NULL, P_NONE, XW_UNBOUND,
	  "a token of an account (EVERY_STUDY)" },
	{ "PATCH", "/api/v1/users/:username", NULL, NULL, P_NONE, XW_UNBOUND,
	  "an account's role, studies and status (EVERY_STUDY)" },
	{ "DELETE", "/api/v1/tokens/:id", NULL, NULL, P_NONE, XW_UNBOUND,
	  "a service token (EVERY_STUDY)" },
	{ "POST", "/api/v1/studies", NULL, NULL, P_NONE, XW_UNBOUND, "a new study" },
	{ "POST", "/api/v1/specimen-types", NULL, NULL, P_NONE, XW_UNBOUND,
	  "reference data of every study" },
	{ "POST", "/api/v1/locations", NULL, NULL, P_NONE, XW_UNBOUND,
	  "storage every study shares" },
	{ "POST", "/api/v1/boxes", NULL, NULL, P_NONE, XW_UNBOUND, "storage every study shares" },
	{ "PUT", "/api/v1/locations/:id/rules", NULL, NULL, P_NONE, XW_UNBOUND,
	  "rules of storage every study shares (EVERY_STUDY)" },
	{ "PUT", "/api/v1/boxes/:barcode/rules", NULL, NULL, P_NONE, XW_UNBOUND,
	  "rules of storage every study shares (EVERY_STUDY)" },
	{ "POST", "/api/v1/locations/:id/temperatures", NULL, NULL, P_NONE, XW_UNBOUND,
	  "readings of a location, which no study owns" },
	{ "POST", "/api/v1/temperatures", NULL, NULL, P_NONE, XW_UNBOUND,
	  "readings of locations, which no study owns" },
	{ "PUT", "/api/v1/locations/:id/temperature-limit", NULL, NULL, P_NONE, XW_UNBOUND,
	  "a limit of storage every study shares (EVERY_STUDY)" },
	{ "PUT", "/api/v1/specimen-types/:code/limits", NULL, NULL, P_NONE, XW_UNBOUND,
	  "limits of a type every study shares (EVERY_STUDY)" },
	{ "POST", "/api/v1/locations/:id/maintenance", NULL, NULL, P_NONE, XW_UNBOUND,
	  "maintenance of storage every study shares" },
	{ "POST", "/api/v1/maintenance/:id/done", NULL, NULL, P_NONE, XW_UNBOUND,
	  "maintenance of storage every study shares" },
	{ "POST", "/api/v1/locations/:id/evacuation", "/api/v1/locations/{loc}/evacuation",
	  "{\"moves\":[{\"box\":\"{box}\",\"to\":{freezer}}]}", P_RACK_MASC, XW_REFUSED,
	  "a rack whose box holds a MASC tube" },
	{ "POST", "/api/v1/locations/:id/evacuation", "/api/v1/locations/{loc}/evacuation", "{}",
	  P_RACK_MASC, XW_REFUSED, "the plan for a rack whose box holds a MASC tube" },
	{ "PUT", "/api/v1/specimen-types/:code/storage", NULL, NULL, P_NONE, XW_UNBOUND,
	  "reference data of every study (EVERY_STUDY)" },
	{ "POST", "/api/v1/shipments", NULL, NULL, P_NONE, XW_UNBOUND,
	  "a new draft, of the caller's studies" },
	{ "POST", "/api/v1/witness/checkpoints", NULL, NULL, P_NONE, XW_UNBOUND,
	  "another site's log, which belongs to no study (EVERY_STUDY)" },

	{ "POST", "/api/v1/participants", "/api/v1/participants",
	  "{\"study\":\"MASC\",\"code\":\"X{n}\",\"sex\":\"female\",\"birth_year\":1970,"
	  "\"diagnosis\":\"DM\"}",
	  P_NONE, XW_REFUSED, "a participant in MASC" },
	{ "POST", "/api/v1/participants/:study/:code/consents",
	  "/api/v1/participants/MASC/P001/consents",
	  "{\"scope\":\"biobank\",\"status\":\"withdrawn\",\"date\":\"2026-01-05\",\"version\":"
	  "\"v1\"}",
	  P_NONE, XW_REFUSED, "a MASC participant's consent" },
	{ "POST", "/api/v1/specimens", "/api/v1/specimens",
	  "{\"participant\":{\"study\":\"MASC\",\"code\":\"P001\"},\"type\":\"serum\","
	  "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\"}",
	  P_NONE, XW_REFUSED, "a tube of a MASC participant" },
	{ "POST", "/api/v1/specimens", "/api/v1/specimens",
	  "{\"participant\":{\"study\":\"SSC\",\"code\":\"S001\"},\"type\":\"serum\","
	  "\"timepoint\":\"baseline\",\"collected_at\":\"2026-03-01T09:30:00Z\","
	  "\"tube_barcode\":\"{barcode}\"}",
	  P_MIXED, XW_REFUSED, "an SSC tube with the barcode a MASC tube carries" },
	{ "POST", "/api/v1/specimens/:id/aliquots", "/api/v1/specimens/{tube}/aliquots",
	  "{\"count\":2}", P_REGISTERED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/derivatives", "/api/v1/specimens/{tube}/derivatives",
	  "{\"type\":\"dna\"}", P_REGISTERED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/aliquots", "/api/v1/specimens/{own}/aliquots",
	  "{\"aliquots\":[{\"tube_barcode\":\"{barcode}\"}]}", P_MIXED, XW_REFUSED,
	  "an SSC aliquot in a tube with the barcode a MASC tube carries" },
	{ "POST", "/api/v1/specimens/:id/tube-barcode", "/api/v1/specimens/{tube}/tube-barcode",
	  "{\"tube_barcode\":\"TB-{n}\"}", P_REGISTERED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/tube-barcode", "/api/v1/specimens/{own}/tube-barcode",
	  "{\"tube_barcode\":\"{barcode}\"}", P_MIXED, XW_REFUSED,
	  "an SSC tube given the barcode a MASC tube carries" },
	{ "POST", "/api/v1/boxes/:barcode/move", "/api/v1/boxes/{box}/move", "{\"to\":{freezer}}",
	  P_MIXED, XW_REFUSED, "a box holding a MASC tube" },
	{ "POST", "/api/v1/box-moves", "/api/v1/box-moves",
	  "{\"moves\":[{\"box\":\"{box}\",\"to\":{freezer}}]}", P_MIXED, XW_REFUSED,
	  "a box holding a MASC tube" },
	{ "POST", "/api/v1/boxes/:barcode/rename", "/api/v1/boxes/{box}/rename",
	  "{\"barcode\":\"REN-{n}\"}", P_MIXED, XW_REFUSED, "a box holding a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/store", "/api/v1/specimens/{tube}/store",
	  "{\"box\":\"{box}\",\"position\":\"B1\"}", P_REGISTERED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/store", "/api/v1/specimens/{own}/store",
	  "{\"box\":\"{box}\",\"position\":\"A1\"}", P_MIXED, XW_REFUSED,
	  "an SSC tube onto a MASC tube's position" },
	{ "POST", "/api/v1/specimens/:id/move", "/api/v1/specimens/{tube}/move",
	  "{\"box\":\"{box}\",\"position\":\"B1\"}", P_STORED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/checkout", "/api/v1/specimens/{tube}/checkout",
	  "{\"reason\":\"assay\"}", P_STORED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/return", "/api/v1/specimens/{tube}/return",
	  "{\"box\":\"{box}\",\"position\":\"B1\",\"thawed\":true}", P_OUT, XW_REFUSED,
	  "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/consume", "/api/v1/specimens/{tube}/consume",
	  "{\"reason\":\"used up\"}", P_STORED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/lost", "/api/v1/specimens/{tube}/lost",
	  "{\"reason\":\"not in its box\"}", P_STORED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/found", "/api/v1/specimens/{tube}/found",
	  "{\"box\":\"{box}\",\"position\":\"B1\"}", P_LOST, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/destroy", "/api/v1/specimens/{tube}/destroy",
	  "{\"reason\":\"expired\"}", P_STORED, XW_REFUSED, "a MASC tube" },
	{ "PATCH", "/api/v1/specimens/:id", "/api/v1/specimens/{tube}",
	  "{\"timepoint\":\"m6\",\"reason\":\"typo\"}", P_STORED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/specimens/:id/entered-in-error",
	  "/api/v1/specimens/{tube}/entered-in-error", "{\"reason\":\"registered twice\"}",
	  P_STORED, XW_REFUSED, "a MASC tube" },
	{ "PATCH", "/api/v1/participants/:study/:code", "/api/v1/participants/MASC/P001",
	  "{\"birth_year\":1950,\"reason\":\"typo\"}", P_NONE, XW_REFUSED, "a MASC participant" },
	{ "POST", "/api/v1/boxes/:barcode/placements", "/api/v1/boxes/{box}/placements",
	  "{\"placements\":[{\"position\":\"C3\",\"specimen\":\"{tube}\"}]}", P_REGISTERED,
	  XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/boxes/:barcode/placements", "/api/v1/boxes/{box}/placements",
	  "{\"placements\":[{\"position\":\"A1\",\"specimen\":\"{own}\"}]}", P_MIXED, XW_REFUSED,
	  "an SSC tube onto a MASC tube's position" },
	{ "POST", "/api/v1/allocations", "/api/v1/allocations",
	  "{\"specimens\":[\"{tube}\"],\"strategy\":\"keep-together\"}", P_REGISTERED, XW_REFUSED,
	  "a MASC tube" },
	{ "POST", "/api/v1/allocations/accept", "/api/v1/allocations/accept",
	  "{\"placements\":[{\"specimen\":\"{tube}\",\"box\":\"{box}\",\"position\":\"B2\"}]}",
	  P_REGISTERED, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/allocations/accept", "/api/v1/allocations/accept",
	  "{\"placements\":[{\"specimen\":\"{own}\",\"box\":\"{box}\",\"position\":\"A1\"}]}",
	  P_MIXED, XW_REFUSED, "an SSC tube onto a MASC tube's position" },

	{ "POST", "/api/v1/audits", "/api/v1/audits", "{\"box\":\"{box}\"}", P_MIXED, XW_SERVED,
	  "an audit of a box holding a MASC tube" },
	{ "POST", "/api/v1/imports", "/api/v1/imports?commit=true",
	  "study,participant_code,sex,diagnosis,specimen_type,timepoint,collected_at\n"
	  "MASC,XI{n},F,DM,serum,m0,2026-01-01T10:00:00Z\n",
	  P_NONE, XW_REFUSED, "an inventory file of MASC rows" },
	{ "PUT", "/api/v1/studies/:code/protocol", "/api/v1/studies/MASC/protocol", SWEEP_PROTOCOL,
	  P_NONE, XW_REFUSED, "MASC's protocol" },
	{ "POST", "/api/v1/studies/:code/timepoint-mappings",
	  "/api/v1/studies/MASC/timepoint-mappings",
	  "{\"mappings\":[{\"from\":\"0m\",\"to\":\"m0\"}],\"reason\":\"x\"}", P_NONE, XW_REFUSED,
	  "MASC's timepoints" },
	{ "POST", "/api/v1/participants/:study/:code/visits/:timepoint",
	  "/api/v1/participants/MASC/P002/visits/y9", "{\"status\":\"missed\",\"reason\":\"x\"}",
	  P_NONE, XW_REFUSED, "a MASC participant's visit" },
	{ "PUT", "/api/v1/participants/:study/:code/enrolment",
	  "/api/v1/participants/MASC/P002/enrolment", "{\"date\":\"2025-01-11\"}", P_NONE,
	  XW_REFUSED, "a MASC participant's enrolment" },
	{ "POST", "/api/v1/imports", "/api/v1/imports?commit=true",
	  "study,participant_code,sex,diagnosis,specimen_type,timepoint,collected_at,tube_barcode\n"
	  "SSC,XJ{n},F,DM,serum,m0,2026-01-01T10:00:00Z,{barcode}\n",
	  P_MIXED, XW_REFUSED, "an SSC row with the barcode a MASC tube carries" },
	{ "POST", "/api/v1/audits/:id/scans", "/api/v1/audits/{audit}/scans",
	  "{\"scans\":[{\"position\":\"A1\",\"barcode\":null}]}", P_AUDIT, XW_REFUSED,
	  "an admin's audit of a box holding a MASC tube" },
	{ "POST", "/api/v1/audits/:id/scans", "/api/v1/audits/{audit}/scans",
	  "{\"scans\":[{\"position\":\"A1\",\"barcode\":\"{tube}\"}]}", P_OWN_AUDIT, XW_SERVED,
	  "the caller's audit: a MASC tube scanned at its place" },
	{ "POST", "/api/v1/audits/:id/close", "/api/v1/audits/{audit}/close",
	  "{\"resolutions\":[]}", P_AUDIT, XW_REFUSED,
	  "an admin's audit of a box holding a MASC tube" },
	{ "POST", "/api/v1/audits/:id/close", "/api/v1/audits/{audit}/close",
	  "{\"resolutions\":[]}", P_OWN_SCANNED, XW_SERVED,
	  "the caller's audit, a MASC tube scanned at its place" },
	{ "POST", "/api/v1/audits/:id/close", "/api/v1/audits/{audit}/close",
	  "{\"resolutions\":[{\"specimen\":\"{tube}\",\"action\":\"lost\"}]}", P_OWN_SCANNED,
	  XW_REFUSED, "a MASC tube resolved in the caller's audit" },

	{ "POST", "/api/v1/shipments/:id/specimens", "/api/v1/shipments/{ship}/specimens",
	  "{\"specimens\":[\"{tube2}\"]}", P_SHIPMENT, XW_REFUSED, "a draft holding a MASC tube" },
	{ "POST", "/api/v1/shipments/:id/specimens", "/api/v1/shipments/{ship}/specimens",
	  "{\"specimens\":[\"{tube}\"]}", P_OWN_DRAFT, XW_REFUSED,
	  "a MASC tube onto the caller's draft" },
	{ "DELETE", "/api/v1/shipments/:id/specimens/:specimen",
	  "/api/v1/shipments/{ship}/specimens/{tube}", NULL, P_SHIPMENT, XW_REFUSED,
	  "a MASC tube off a draft" },
	{ "POST", "/api/v1/shipments/:id/dispatch", "/api/v1/shipments/{ship}/dispatch", NULL,
	  P_SHIPMENT, XW_REFUSED, "a draft holding a MASC tube" },
	{ "POST", "/api/v1/shipments/:id/receipt", "/api/v1/shipments/{ship}/receipt",
	  "{\"received_at\":\"{now}\"}", P_SHIPPED, XW_REFUSED, "a shipment of a MASC tube" },
	{ "POST", "/api/v1/reports/consent-withdrawn/destroy",
	  "/api/v1/reports/consent-withdrawn/destroy",
	  "{\"specimens\":[\"{tube}\"],\"reason\":\"consent withdrawn\"}", P_WITHDRAWN, XW_REFUSED,
	  "a MASC tube whose donor withdrew" },
	{ "POST", "/api/v1/specimens/:id/label-printed", "/api/v1/specimens/{fixed}/label-printed",
	  "{\"printer\":\"bench\",\"copies\":1}", P_NONE, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/print", "/api/v1/print", "{\"ids\":[\"{fixed}\"],\"printer\":\"bench\"}",
	  P_NONE, XW_REFUSED, "a MASC tube" },
	{ "POST", "/api/v1/print-jobs/:id/retry", "/api/v1/print-jobs/{job}/retry", NULL,
	  P_PRINT_JOB, XW_REFUSED, "a print job of a MASC tube" },
	{ "DELETE", "/api/v1/fhir/bulk/:job", "/api/v1/fhir/bulk/{export}", NULL, P_EXPORT,
	  XW_REFUSED, "the caller's own FHIR export of every study, MASC's data in it" },

	{ "PUT", "/api/v1/studies/:code/last-aliquot", "/api/v1/studies/MASC/last-aliquot",
	  "{\"keep\":false}", P_NONE, XW_REFUSED, "MASC's last-aliquot rule" },
	{ "POST", "/api/v1/requests", "/api/v1/requests", REQUEST_BODY, P_NONE, XW_REFUSED,
	  "a request for MASC tubes" },
	{ "POST", "/api/v1/requests/:id/approve", "/api/v1/requests/{req}/approve", "{}", P_REQUEST,
	  XW_REFUSED, "a request for MASC tubes" },
	{ "POST", "/api/v1/requests/:id/reject", "/api/v1/requests/{req}/reject",
	  "{\"reason\":\"no\"}", P_REQUEST, XW_REFUSED, "a request for MASC tubes" },
	{ "POST", "/api/v1/requests/:id/allocate", "/api/v1/requests/{req}/allocate", NULL,
	  P_APPROVED, XW_REFUSED, "MASC tubes for a request" },
	{ "POST", "/api/v1/requests/:id/specimens", "/api/v1/requests/{req}/specimens",
	  "{\"specimens\":[\"{tube2}\"]}", P_ALLOCATED, XW_REFUSED, "a MASC tube onto a request" },
	{ "DELETE", "/api/v1/requests/:id/specimens/:specimen",
	  "/api/v1/requests/{req}/specimens/{tube}", NULL, P_ALLOCATED, XW_REFUSED,
	  "a MASC tube off a request" },
	{ "POST", "/api/v1/requests/:id/release", "/api/v1/requests/{req}/release", "{}",
	  P_ALLOCATED, XW_REFUSED, "MASC tubes reserved for a request" },
	{ "POST", "/api/v1/requests/:id/close", "/api/v1/requests/{req}/close", "{}", P_ALLOCATED,
	  XW_REFUSED, "MASC tubes reserved for a request" },
	{ "POST", "/api/v1/requests/:id/picks", "/api/v1/requests/{req}/picks",
	  "{\"specimen\":\"{tube}\"}", P_ALLOCATED, XW_REFUSED, "a MASC tube of a pick list" },
	{ "POST", "/api/v1/requests/:id/shipments", "/api/v1/requests/{req}/shipments",
	  "{\"destination\":\"Core\",\"conditions\":\"dry_ice\"}", P_PICKED, XW_REFUSED,
	  "picked MASC tubes of a request" },
	{ "POST", "/api/v1/requests/:id/returns", "/api/v1/requests/{req}/returns",
	  "{\"items\":[{\"specimen\":\"{tube}\",\"consumed\":1}]}", P_REQ_SHIPPED, XW_REFUSED,
	  "a shipped MASC tube of a request" },
};

/*
 * What no write of a study-limited user may change: the ledger (every
 * event's hash), the audit log, the print jobs, and the records of the
 * audits such users start (none may name a MASC tube).
 */
static char *
untouchables(void)
{
	bool ok_sql;
	char *v = sql_value(
	    &t,
	    "SELECT concat_ws(' ',"
	    " 'events', (SELECT count(*) || ':' || md5(COALESCE(string_agg(specimen_id || '.' || "
	    "seq"
	    "   || '.' || encode(hash, 'hex'), ',' ORDER BY specimen_id, seq), '')) FROM events),"
	    " 'audit_log', (SELECT count(*) || ':' || COALESCE(max(id), 0) FROM audit_log),"
	    " 'print_jobs', (SELECT count(*) FROM print_jobs),"
	    " 'records naming MASC', (SELECT count(*) FROM audits a JOIN specimens s"
	    "   ON strpos(COALESCE(a.report::text, '') || COALESCE(a.resolutions::text, ''), s.id) "
	    "> 0"
	    "  JOIN studies st ON st.id = s.study_id AND st.code = 'MASC'"
	    "  WHERE a.started_by LIKE 'sweep-%-ssc'))",
	    &ok_sql);

	if (!ok_sql || v == NULL)
		fail_setup("cannot read the ledger and the audit log");
	return v;
}

/* Does the answer name a MASC value the request did not name itself? */
static const char *
names_masc(const struct ctx *c, const char *path, const char *body, const struct resp *r)
{
	const char *masc[] = { c->tube, c->tube2, c->fixed, c->barcode, c->participant };

	for (size_t i = 0; i < sizeof(masc) / sizeof(masc[0]); i++) {
		if (*masc[i] == '\0' || strstr(path, masc[i]) != NULL ||
		    (body != NULL && strstr(body, masc[i]) != NULL))
			continue;
		if (r->body != NULL && strstr(r->body, masc[i]) != NULL)
			return masc[i];
	}
	return NULL;
}

static const struct xcase *
xcase_next(const struct route *rt, const struct xcase *after)
{
	size_t i = after == NULL ? 0 : (size_t)(after - xcases) + 1;

	for (; i < sizeof(xcases) / sizeof(xcases[0]); i++)
		if (strcmp(xcases[i].method, rt->method) == 0 &&
		    strcmp(xcases[i].pattern, rt->pattern) == 0)
			return &xcases[i];
	return NULL;
}

/* One case as every limited caller the route admits; returns how many went wrong. */
static int
sweep_write(const struct route *rt, const struct xcase *k, struct caller *callers, int ncallers)
{
	int wrong = 0;
	char path[512], body[1024];

	for (int i = 0; i < ncallers; i++) {
		struct caller *who = &callers[i];
		struct ctx c;
		struct resp r;

		if (!who->limited || (rt->roles & R(who->role)) == 0)
			continue;
		prepare(k->prep, who, &c);
		expand(k->path, &c, path, sizeof(path));
		if (k->body != NULL)
			expand(k->body, &c, body, sizeof(body));
		char *before = untouchables();
		http(t.d.url, rt->method, path, c.token,
		     k->body && body[0] != '{' ? "text/csv" : NULL, k->body ? body : NULL,
		     k->body ? strlen(body) : 0, &r);
		char *after = untouchables();
		const char *named = names_masc(&c, path, k->body ? body : NULL, &r);
		bool status_ok =
		    k->want == XW_SERVED
		        ? r.status >= 200 && r.status < 300
		        : r.status >= 400 && r.status < 500 &&
		              (strncmp(r.content_type, "application/problem+json", 24) == 0 ||
		               /* The FHIR routes refuse with an OperationOutcome (api/fhir.h). */
		               (strstr(rt->pattern, "fhir") != NULL &&
		                strncmp(r.content_type, "application/fhir+json", 21) == 0));

		if (!status_ok || strcmp(before, after) != 0 || named != NULL) {
			wrong++;
			tap_diag("  %s %s as %s (%s): want %s, got %ld %.300s", rt->method, path,
			         who->name, k->what, k->want == XW_SERVED ? "2xx" : "a 4xx problem",
			         r.status, r.body);
			if (strcmp(before, after) != 0)
				tap_diag("    changed: %s -> %s", before, after);
			if (named != NULL)
				tap_diag("    the answer names %s of study MASC", named);
		}
		free(before);
		free(after);
		resp_free(&r);
	}
	return wrong;
}

/* The fixed tube's events in the log and a signed checkpoint of them, for
 * the ledger's routes. */
static void
checkpoint_fixed(const char *ledger_key)
{
	long long end = mono_ms() + 30000;

	while (count_sql(&t, "SELECT count(*) FROM log_pending") != 0 && mono_ms() < end)
		msleep(20);
	char dburl[700], *out = NULL;
	snprintf(dburl, sizeof(dburl), "BIOBANK_DATABASE_URL=%s", t.conninfo);
	const char *env[] = { dburl, NULL };
	const char *argv[] = { t.biobankd, "checkpoint", ledger_key, NULL };
	if (run_cmd(argv, env, NULL, &out) != 0) {
		tap_diag("%s", out ? out : "");
		fail_setup("biobankd checkpoint");
	}
	free(out);

	/* The daemon witnesses its own log: it sees this checkpoint first. */
	struct resp r;
	admin_must("GET", "/api/v1/ledger/checkpoint", NULL, 200, &r);
	const char *note = jstr(&r, "note");
	size_t o = 0;
	for (const char *p = note ? note : ""; *p && o + 3 < sizeof(ckpt_json); p++) {
		if (*p == '\n') {
			ckpt_json[o++] = '\\';
			ckpt_json[o++] = 'n';
		} else {
			ckpt_json[o++] = *p;
		}
	}
	ckpt_json[o] = '\0';
	snprintf(ckpt_size, sizeof(ckpt_size), "%.0f", jnum(&r, "size", 0));
	resp_free(&r);
	char body[1200];
	snprintf(body, sizeof(body), "{\"checkpoint\":\"%s\",\"old_size\":0}", ckpt_json);
	admin_must("POST", "/api/v1/witness/checkpoints", body, 200, &r);
	resp_free(&r);
}

int
main(int argc, char **argv)
{
	struct caller callers[2 * ROLE__MAX];
	int ncallers = 0;
	char dir[] = "/tmp/bb-authz-XXXXXX", printers[600], ledger_key[600], witness[600];
	struct resp r;

	tenv_setup(&t, "authz", argc, argv);
	world_make(&t);
	if (mkdtemp(dir) == NULL)
		fail_setup("mkdtemp");
	/* A printer for POST /api/v1/print: a file in a folder of our own; the
	 * ledger's signing key there too, for its key and checkpoints. */
	snprintf(printers, sizeof(printers), "--printers=bench=file:%s/labels.zpl", dir);
	const char *keygen[] = { t.biobankd, "keygen",       "--out", dir,
		                 "--origin", "sweep/ledger", NULL };
	char *kout = NULL;
	if (run_cmd(keygen, NULL, NULL, &kout) != 0)
		fail_setup("biobankd keygen");
	free(kout);
	snprintf(ledger_key, sizeof(ledger_key), "--ledger-key=%s/ledger.key", dir);
	snprintf(witness, sizeof(witness), "--witness-logs=%s/ledger.pub", dir);
	const char *opts[] = { printers, ledger_key, witness, NULL };
	daemon_stop(&t.d);
	if (daemon_start(&t, &t.d, opts) != 0)
		fail_setup("cannot start biobankd with a printer");

	char *v = NULL;
	bool ok_sql;
	v = sql_value(&t, "SELECT id FROM locations WHERE name = 'Rack 1'", &ok_sql);
	snprintf(rack_id, sizeof(rack_id), "%s", v ? v : "0");
	free(v);
	v = sql_value(&t, "SELECT id FROM locations WHERE name = 'Freezer 1'", &ok_sql);
	snprintf(freezer_id, sizeof(freezer_id), "%s", v ? v : "0");
	free(v);
	/* Issue 18: Freezer 1 named in monitoring exports; an excursion of the site (id 1). */
	sql_must("UPDATE locations SET barcode = 'FRZ-SWEEP' WHERE name = 'Freezer 1'");
	sql_must("INSERT INTO excursions (location_id, started_at, ended_at, peak_c, limit_c,"
	         " readings) SELECT id, '2025-01-01T00:00Z', '2025-01-01T01:00Z', -50, -70, 3"
	         " FROM locations WHERE name = 'Main lab'");
	if (!world_register(&t, "MASC", "P001", "serum", fixed_tube))
		fail_setup("cannot register the fixed tube");
	store_at(fixed_tube, "BOX-A", "A1");
	api(&t, "PUT", "/api/v1/studies/MASC/protocol", t.admin_token, SWEEP_PROTOCOL, &r);
	if (r.status != 200)
		fail_setup("cannot give MASC its protocol");
	resp_free(&r);
	checkpoint_fixed(ledger_key);

	for (int limited = 0; limited < 2; limited++)
		for (int role = 0; role < ROLE__MAX; role++) {
			struct caller *c = &callers[ncallers++];
			char body[256], pw[64];

			c->role = (enum role)role;
			c->limited = limited;
			snprintf(c->name, sizeof(c->name), "sweep-%s%s", role_names[role],
			         limited ? "-ssc" : "");
			snprintf(pw, sizeof(pw), "%s-password", c->name);
			snprintf(body, sizeof(body),
			         "{\"username\":\"%s\",\"password\":\"%s\",\"role\":\"%s\"%s}",
			         c->name, pw, role_names[role],
			         limited ? ",\"studies\":[\"SSC\"]" : "");
			admin_must("POST", "/api/v1/users", body, 201, &r);
			resp_free(&r);
			if (login(&t, c->name, pw, c->token) != 0)
				fail_setup("cannot log in a sweep user");
		}

	{
		admin_must("POST", "/api/v1/users",
		           "{\"username\":\"sweep-filer\",\"password\":\"sweep-filer-password\","
		           "\"role\":\"researcher\"}",
		           201, &r);
		resp_free(&r);
		if (login(&t, "sweep-filer", "sweep-filer-password", filer_token) != 0)
			fail_setup("cannot log in the request filer");
	}

	int covered = 0, missing = 0, requests = 0;
	for (size_t i = 0; i < route_count; i++) {
		const struct route *rt = &routes[i];
		const struct scase *k = case_for(rt);

		if (!ok(k != NULL, "%s %s has a case in the sweep", rt->method, rt->pattern)) {
			missing++;
			continue;
		}
		covered++;
		requests += ncallers;
		is_int(sweep_route(rt, k, callers, ncallers), 0,
		       "%s %s: every role and study limit answered as the route table says",
		       rt->method, rt->pattern);
	}
	/* What the sweep limits by study, the route table must declare limited (router.h). */
	int undeclared = 0;
	for (size_t i = 0; i < route_count; i++) {
		const struct scase *k = case_for(&routes[i]);

		if (k != NULL && k->scope != SC_NONE && k->scope != SC_UNSET &&
		    !(routes[i].roles & STUDY_LIMITED)) {
			undeclared++;
			tap_diag("%s %s is limited by study but not STUDY_LIMITED",
			         routes[i].method, routes[i].pattern);
		}
	}
	is_int(undeclared, 0, "every route the sweep limits by study is declared STUDY_LIMITED");

	/* A case for a route that no longer exists is a sweep out of date. */
	int stale = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool found = false;

		for (size_t j = 0; j < route_count && !found; j++)
			found = strcmp(cases[i].method, routes[j].method) == 0 &&
			        strcmp(cases[i].pattern, routes[j].pattern) == 0;
		if (!found) {
			stale++;
			tap_diag("case %s %s matches no route", cases[i].method, cases[i].pattern);
		}
	}
	is_int(stale, 0, "every case of the sweep is a route of the table");
	is_int(covered, (int)route_count, "all %zu routes swept (%d requests, %d callers each)",
	       route_count, requests, ncallers);

	/* The cross-study write matrix: every write route, every limited caller it admits. */
	int xmissing = 0, xsent = 0;
	for (size_t i = 0; i < route_count; i++) {
		const struct route *rt = &routes[i];
		const struct xcase *k = xcase_next(rt, NULL);

		if (strcmp(rt->method, "GET") == 0)
			continue;
		if (!ok(k != NULL, "%s %s has a case in the cross-study write matrix", rt->method,
		        rt->pattern)) {
			xmissing++;
			continue;
		}
		for (; k != NULL; k = xcase_next(rt, k)) {
			if (k->want == XW_UNBOUND) {
				ok(true, "%s %s: names no study's object (%s)", rt->method,
				   rt->pattern, k->what);
				continue;
			}
			xsent++;
			is_int(
			    sweep_write(rt, k, callers, ncallers), 0,
			    "%s %s aimed at %s by every SSC-limited caller: the ledger, the audit "
			    "log and the audit records unchanged, no MASC object named",
			    rt->method, rt->pattern, k->what);
		}
	}
	int xstale = 0;
	for (size_t i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		bool found = false;

		for (size_t j = 0; j < route_count && !found; j++)
			found = strcmp(xcases[i].method, routes[j].method) == 0 &&
			        strcmp(xcases[i].pattern, routes[j].pattern) == 0;
		if (!found || strcmp(xcases[i].method, "GET") == 0) {
			xstale++;
			tap_diag("write case %s %s matches no write route", xcases[i].method,
			         xcases[i].pattern);
		}
	}
	is_int(xstale, 0, "every case of the write matrix is a write route of the table");
	is_int(xmissing, 0, "every write route has a case in the matrix (%d cases sent)", xsent);

	/* Without a token, every route that needs one answers 401. */
	int not401 = 0;
	for (size_t i = 0; i < route_count; i++) {
		const struct route *rt = &routes[i];
		const struct scase *k = case_for(rt);
		struct ctx c = { 0 };
		char path[512];

		if (rt->roles == ROLES_PUBLIC || k == NULL)
			continue;
		snprintf(c.fixed, sizeof(c.fixed), "%s", fixed_tube);
		snprintf(c.loc, sizeof(c.loc), "%s", rack_id);
		snprintf(c.freezer, sizeof(c.freezer), "%s", freezer_id);
		snprintf(c.task, sizeof(c.task), "1");
		snprintf(c.n, sizeof(c.n), "0");
		snprintf(c.audit, sizeof(c.audit), "1");
		snprintf(c.ship, sizeof(c.ship), "1");
		snprintf(c.job, sizeof(c.job), "1");
		snprintf(c.export, sizeof(c.export), "00000000-0000-4000-8000-000000000001");
		snprintf(c.import, sizeof(c.import), "sweep-import-0");
		snprintf(c.svc, sizeof(c.svc), "1");
		snprintf(c.req, sizeof(c.req), "1");
		snprintf(c.tube, sizeof(c.tube), "%s", fixed_tube);
		snprintf(c.box, sizeof(c.box), "BOX-A");
		expand(k->path, &c, path, sizeof(path));
		http(t.d.url, rt->method, path, NULL, NULL, k->body ? "{}" : NULL, k->body ? 2 : 0,
		     &r);
		if (r.status != 401) {
			not401++;
			tap_diag("  %s %s without a token: %ld", rt->method, path, r.status);
		}
		resp_free(&r);
	}
	is_int(not401, 0, "without a token every protected route answers 401");
	(void)missing;

	char zpl[600];
	snprintf(zpl, sizeof(zpl), "%s/labels.zpl", dir);
	unlink(zpl);
	snprintf(zpl, sizeof(zpl), "%s/ledger.key", dir);
	unlink(zpl);
	snprintf(zpl, sizeof(zpl), "%s/ledger.pub", dir);
	unlink(zpl);
	rmdir(dir);
	tenv_teardown(&t);
	return tap_done();
}
