/* handlers.h — every route's handler, one file per resource (h_<resource>.c). */
#ifndef SRV_HANDLERS_H
#define SRV_HANDLERS_H

#include "srv.h"

/* h_health.c */
void h_health_live(struct srv_req *r);
void h_health_ready(struct srv_req *r);
void h_health_metrics(struct srv_req *r);

/* h_sessions.c */
extern const struct bb_js_spec h_sessions_create_spec;
void h_sessions_create(struct srv_req *r);
void h_sessions_delete(struct srv_req *r);
void h_sessions_current(struct srv_req *r);

/* h_users.c */
extern const struct bb_js_spec h_users_create_spec;
extern const struct bb_js_spec h_tokens_create_spec;
void h_users_create(struct srv_req *r);
void h_users_list(struct srv_req *r);
void h_tokens_create(struct srv_req *r);

#endif
