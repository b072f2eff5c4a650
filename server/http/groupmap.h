/*
 * groupmap.h — the group map (setting group_map; docs/sso.md): which role
 * and studies the groups a provider or a directory reports give an
 * account. One line per group, "GROUP ROLE STUDIES", where STUDIES is "*"
 * (every study) or codes separated by commas; '#' starts a comment. The
 * first line whose group the person is in decides: list the most powerful
 * groups first. Groups are compared without regard to case.
 */
#ifndef SRV_GROUPMAP_H
#define SRV_GROUPMAP_H

#include <stddef.h>
#include <stdio.h>

struct group_map;

/* Read path; every problem is printed to err naming its line. 0 or -1. */
int group_map_load(const char *path, struct group_map **out, FILE *err);
void group_map_free(struct group_map *m);

/* The mapping chosen for groups (n of them): role name, and studies as a
 * PostgreSQL array literal of codes or NULL for every study. -1: no line
 * names any of the groups. The strings belong to the map. */
int group_map_find(const struct group_map *m, const char *const *groups, size_t n,
                   const char **role, const char **studies, const char **group);

#endif
