/*
 * harness.h — a TAP producer for the test programs. Each program prints
 * "ok N - name" / "not ok N - name" lines and a plan; meson reads them with
 * protocol 'tap' and scripts/test counts them. Header-only on purpose: every
 * test program is one file plus what it tests.
 */
#ifndef BB_TEST_HARNESS_H
#define BB_TEST_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tap_state {
	int run, failed;
};

/* Weak: every file of a test program that includes this shares one count. */
__attribute__((weak)) struct tap_state tap;

__attribute__((format(printf, 2, 3), unused)) static bool
tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	char msg[1024];

	tap.run++;
	if (!cond)
		tap.failed++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A description must stay on its line for the TAP reader. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	printf("%sok %d - %s\n", cond ? "" : "not ", tap.run, msg);
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Skip the whole program: an empty plan with a SKIP directive, exit 0 (TAP's way;
 * meson reads it as "skipped"). */
__attribute__((noreturn, unused)) static void
tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}

/* Stop the program as failed (TAP "Bail out!"): for what a run must have, such
 * as the shared fixtures, whose absence would otherwise pass unnoticed as a skip. */
__attribute__((noreturn, unused)) static void
tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(1);
}

/* Print the plan and exit non-zero when anything failed. */
__attribute__((unused)) static int
tap_done(void)
{
	printf("1..%d\n", tap.run);
	if (tap.failed)
		printf("# %d of %d failed\n", tap.failed, tap.run);
	fflush(stdout);
	return tap.failed ? 1 : 0;
}

#define ok(cond, ...) tap_ok((cond), __VA_ARGS__)

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!tap_ok(g_ == w_, __VA_ARGS__))                                                \
			tap_diag("  got %lld, want %lld", g_, w_);                                 \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!tap_ok(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, __VA_ARGS__))         \
			tap_diag("  got \"%s\", want \"%s\"", g_ ? g_ : "(null)",                  \
			         w_ ? w_ : "(null)");                                              \
	} while (0)

#endif
