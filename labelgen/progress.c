/* progress.c — a one-line progress bar for batches, only on a terminal. */
#include "cli.h"

#include <unistd.h>

enum { WIDTH = 30 };

void
progress_start(struct progress *p, const char *what, size_t total)
{
	p->on = total > 1 && isatty(STDERR_FILENO);
	p->total = total;
	p->done = 0;
	p->what = what;
	progress_step(p, 0);
}

void
progress_step(struct progress *p, size_t n)
{
	char bar[WIDTH + 1];
	size_t fill;

	p->done += n;
	if (!p->on)
		return;
	fill = p->total ? p->done * WIDTH / p->total : WIDTH;
	for (size_t i = 0; i < WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %zu/%zu", p->what, bar, p->done, p->total);
	fflush(stderr);
}

void
progress_end(struct progress *p)
{
	if (p->on)
		fputs("\n", stderr);
	p->on = false;
}
