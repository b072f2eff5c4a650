/*
 * reply.h — the answers a handler gives: JSON, problem+json with the stable
 * codes of docs/api.md, database errors as problems, and the JSON a SQL
 * function made. Each handler calls exactly one reply function.
 */
#ifndef SRV_REPLY_H
#define SRV_REPLY_H

#include "http/server.h"

struct cJSON;

void reply_json(struct srv_req *r, unsigned status, struct cJSON *body); /* takes body */
void reply_empty(struct srv_req *r, unsigned status);
void reply_raw(struct srv_req *r, unsigned status, const char *type, char *data, size_t len);
void reply_problem(struct srv_req *r, unsigned status, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A problem with a code of the table in reply.c (status and title from the table). */
void reply_problem_code(struct srv_req *r, const char *code, const char *title, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* The same with facts: the members of the object facts (taken, may be NULL) become the
 * problem's extension members. */
void reply_problem_facts(struct srv_req *r, const char *code, struct cJSON *facts, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
void reply_invalid(struct srv_req *r, const struct bb_js_errors *errs);
void reply_invalid_field(struct srv_req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The answer for a failed database call: 503, 409, 404, 400 or 500 as err
 * says. A refusal of our SQL functions answers with its code, field
 * (errors[].field) and facts (extension members); an error of PostgreSQL's
 * own with a code and words of ours, never PostgreSQL's message.
 */
void reply_db_error(struct srv_req *r, enum bb_err err);
/* The same, with title, telling the items of a refused list by names[item] (e.g. the lines of a
 * file) instead of their fields in the JSON body. */
void reply_db_error_items(struct srv_req *r, enum bb_err err, const char *title,
                          const char *const *names, size_t n);
void reply_header(struct srv_req *r, const char *name, const char *value);
/* Forget the reply, its headers included, before a handler is run again (idempotency.c). */
void reply_reset(struct srv_req *r);
/* Reply with JSON text made elsewhere (e.g. by PostgreSQL); the text is copied. */
void reply_json_text(struct srv_req *r, unsigned status, const char *json);

/* Build the JSON text of a problem, with the generic code of its status (also used by the unit
 * tests). */
char *problem_json(unsigned status, const char *title, const char *detail,
                   const struct bb_js_errors *errs);

/* The stable problem codes: code, HTTP status, default title (reply.c; docs/api.md). */
struct problem_code {
	const char *code;
	unsigned status;
	const char *title;
};
const struct problem_code *problem_code_find(const char *code);   /* NULL: not in the table */
const struct problem_code *problem_code_generic(unsigned status); /* e.g. 404: not-found */
const struct problem_code *problem_code_at(size_t i);             /* NULL past the end */

/* The problem object for a database error (state, message and diagnostic fields); the caller
 * owns it. No PostgreSQL message text reaches it. */
struct cJSON *problem_from_db(const char *state, const char *message, const struct db_diag *d);

/*
 * Run one statement that returns one JSON value (a SQL function doing a
 * whole action): the result, holding one non-NULL value, which the caller
 * PQclear()s; NULL after replying with the problem.
 */
PGresult *function_answer(struct srv_req *r, const char *stmt, int nparams,
                          const char *const *params);
/* The same for a statement whose first column's value comes with rows of its own (a
 * proof's target and its subtrees): at least one row, the first value not NULL. */
PGresult *function_rows(struct srv_req *r, const char *stmt, int nparams,
                        const char *const *params);
/* The same, replying with the value as status: the common body of most handlers. */
void reply_from_function(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                         const char *const *params);
/* The same for a function that only reads (a GET's): sent again on a new connection
 * when the database had closed the one it was sent on (db_exec_read). */
void reply_from_read(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                     const char *const *params);
/* The same for a report that reads every specimen: in a transaction of its
 * own without the per-statement timeout (db_long_statements). */
void reply_from_report(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                       const char *const *params);

#endif
