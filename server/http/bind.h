/*
 * bind.h — routes bound to SQL. Most endpoints only hand their inputs to
 * one SQL function that does the whole action and answers with the API's
 * JSON. Such a route names the prepared statement and where each of its
 * parameters comes from; h_sql() reads and checks them all the same way
 * (path ids, specimen references, body fields, query filters, the page, the
 * caller's studies and name) and answers. No handler of its own.
 */
#ifndef SRV_BIND_H
#define SRV_BIND_H

#include "http/input.h"
#include "http/server.h"

#include <stdio.h>

/* Where one parameter comes from; ARG_END (zero) ends the list. */
enum arg_from {
	ARG_END,
	ARG_PATH,      /* path parameter .i as it is */
	ARG_PATH_ID,   /* path parameter .i, the id of a .name: 404 "no .name X" unless one */
	ARG_PATH_REF,  /* path parameter .i, a specimen ID or tube barcode (400 if mistyped) */
	ARG_BODY,      /* the body field .name ("from.box" inside an object), as text */
	ARG_QUERY,     /* the query parameter .name; absent or empty: NULL */
	ARG_STUDIES,   /* the caller's studies: NULL (all) or "{1,4}" */
	ARG_ACTOR,     /* the caller's user name */
	ARG_ACTOR_ID,  /* the caller's user id */
	ARG_CONST,     /* .name itself, e.g. the action a route stands for */
	ARG_NULL,      /* SQL NULL: this route has no such input */
	ARG_PAGE_SIZE, /* ?limit= of the route's page (input.h) */
	ARG_CURSOR,    /* ?cursor= as given, for lists whose SQL reads it */
	ARG_AFTER,     /* the key after which a one-number list's page starts ("0": first) */
};

struct sql_arg {
	enum arg_from from;
	int i;
	const char *name;
};

enum { SQL_ARGS_MAX = 16 };

struct sql_call {
	/*
	 * The SQL function (migrations/functions/<area>.sql) that does the whole
	 * action. Its statement, SELECT fn($1, ..., $n)::text with the arguments
	 * below, is prepared under the function's name (bind_statements); the
	 * function's signature types the parameters, so it must not be overloaded.
	 */
	const char *fn;
	/* of a success: 200 or 201. A GET's function must only read: it is sent again
	 * when the database had closed the connection it went out on (reply_from_read). */
	unsigned status;
	bool paged; /* ?limit= and ?cursor= are read (and checked) as page below */
	enum page_list page;
	bool whole_db; /* a report over every specimen: reply_from_report */
	struct sql_arg args[SQL_ARGS_MAX];
};

/* The handler of every route with a sql_call. */
void h_sql(struct srv_req *r);

/*
 * Check every binding of routes[] against its route (path parameters, body
 * spec, declared query parameters, paging); print each mistake to err and
 * return how many. biobankd refuses to start on one; a unit test runs it.
 */
int bind_check(FILE *err);

/*
 * The statements of every binding, one per function, NULL-terminated, for
 * db_pool_open(); allocated from a, which must outlive the pool.
 */
struct db_stmt *bind_statements(struct bb_arena *a);

#endif
