/*
 * printers.c — named printers, so a bench says --printer freezer-room-zt410
 * and not its address. The file holds "NAME URI" lines; # starts a comment.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum bb_err
printers_lookup(const char *conf, const char *name, char **uri, char why[LBL_WHY_MAX])
{
	FILE *f = fopen(conf, "r");
	char line[1024];
	int lineno = 0;

	if (f == NULL) {
		snprintf(why, LBL_WHY_MAX, "printer \"%s\": cannot read %.150s: %s", name, conf,
		         strerror(errno));
		return BB_ENOTFOUND;
	}
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *key, *val, *extra;

		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		key = strtok_r(line, " \t", &save);
		if (key == NULL)
			continue;
		val = strtok_r(NULL, " \t", &save);
		extra = strtok_r(NULL, " \t", &save);
		if (val == NULL || extra != NULL) {
			snprintf(why, LBL_WHY_MAX, "%.150s:%d: expected NAME URI", conf, lineno);
			fclose(f);
			return BB_EINVAL;
		}
		if (strcmp(key, name) == 0) {
			*uri = bb_strdup(val);
			fclose(f);
			return BB_OK;
		}
	}
	fclose(f);
	snprintf(why, LBL_WHY_MAX, "no printer named \"%.60s\" in %.150s", name, conf);
	return BB_ENOTFOUND;
}
