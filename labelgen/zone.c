/*
 * zone.c — labelgen's --timezone for label data made offline: a collection
 * time (RFC 3339, with Z or an offset) printed as its date in the site's
 * zone, as biobankd dates the label data it serves. The zone is set once at
 * start-up (TZ); nothing else in labelgen reads local time.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum bb_err
zone_use(const char *tz, char why[LBL_WHY_MAX])
{
	char path[256], magic[4];
	size_t n = 0;
	FILE *f;

	if (tz[0] == '\0' || tz[0] == '/' || strstr(tz, "..") != NULL ||
	    strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") !=
	        strlen(tz) ||
	    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz) >= (int)sizeof(path)) {
		snprintf(why, LBL_WHY_MAX,
		         "--timezone \"%.60s\" is not a time zone name such as Europe/Paris", tz);
		return BB_EINVAL;
	}
	if ((f = fopen(path, "rb")) != NULL) {
		n = fread(magic, 1, sizeof(magic), f);
		fclose(f);
	}
	if (n != sizeof(magic) || memcmp(magic, "TZif", 4) != 0) {
		snprintf(why, LBL_WHY_MAX,
		         "--timezone %.60s is not in the tz database (/usr/share/zoneinfo)", tz);
		return BB_EINVAL;
	}
	/* ":" makes glibc read the file and nothing else (no POSIX rule parsing). */
	char *val = bb_asprintf(":%s", tz);
	setenv("TZ", val, 1);
	free(val);
	tzset();
	return BB_OK;
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)". */
static bool
parse_instant(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, used = 0;
	const char *z;

	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
	    used != 19)
		return false;
	z = s + used;
	if (*z == '.')
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	if (strcmp(z, "Z") == 0 || strcmp(z, "z") == 0) {
		/* UTC */
	} else if ((z[0] == '+' || z[0] == '-') && strlen(z) == 6 &&
	           sscanf(z + 1, "%2d:%2d", &oh, &om) == 2) {
		if (z[0] == '-')
			oh = -oh, om = -om;
	} else {
		return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - (time_t)(oh * 3600 + om * 60);
	return true;
}

bool
zone_date(const char *instant, char date[11], char offset[16])
{
	struct tm tm;
	time_t t;
	int off, a;

	if (!parse_instant(instant, &t) || localtime_r(&t, &tm) == NULL)
		return false;
	strftime(date, 11, "%Y-%m-%d", &tm);
	off = (int)(tm.tm_gmtoff % 86400); /* offsets are within a day */
	a = off < 0 ? -off : off;
	if (off == 0)
		snprintf(offset, 16, "UTC");
	else if (a % 3600 == 0)
		snprintf(offset, 16, "UTC%c%d", off < 0 ? '-' : '+', a / 3600 % 100);
	else
		snprintf(offset, 16, "UTC%c%d:%02d", off < 0 ? '-' : '+', a / 3600 % 100,
		         a % 3600 / 60);
	return true;
}
