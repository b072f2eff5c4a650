/* arena.c — bump allocation in chunks, freed all at once by the owner. */
#include "biobank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bb_arena_chunk {
	struct bb_arena_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

enum { CHUNK_DEFAULT = 8192 };

void *
bb_arena_alloc(struct bb_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	struct bb_arena_chunk *c = a->head;

	size = (size + align - 1) / align * align;
	if (size == 0)
		size = align;
	if (c == NULL || c->cap - c->used < size) {
		size_t cap = size > CHUNK_DEFAULT ? size : CHUNK_DEFAULT;

		c = bb_malloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	return memset(p, 0, size);
}

char *
bb_arena_strndup(struct bb_arena *a, const char *s, size_t n)
{
	char *p = bb_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
bb_arena_strdup(struct bb_arena *a, const char *s)
{
	return bb_arena_strndup(a, s, strlen(s));
}

char *
bb_arena_printf(struct bb_arena *a, const char *fmt, ...)
{
	va_list ap, copy;

	va_start(ap, fmt);
	va_copy(copy, ap);
	char probe[1];
	int n = vsnprintf(probe, sizeof(probe), fmt, copy);
	va_end(copy);
	if (n < 0)
		n = 0;
	char *p = bb_arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
bb_arena_free(struct bb_arena *a)
{
	struct bb_arena_chunk *c = a->head;

	while (c != NULL) {
		struct bb_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}
