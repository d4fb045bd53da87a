/* warnings.c — what the agent has to tell the user.  The agent never
 * writes to the target's file descriptors (its stderr is the service's
 * log, not the user's terminal): a warning is kept here and travels in
 * the stream as a Warning record, which the CLI prints on its own stderr.
 *
 * Said from any thread (the injected start call included, before the
 * writer exists); sent by the writer.  Lasting warnings (a state of the
 * process, such as an unsupported Python) are sent again to every later
 * session; the others once. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "agent_internal.h"
#include "memattach.pb-c.h"

#define MAX_WARNINGS 16
#define WARNING_LEN 512

struct warning {
	char text[WARNING_LEN];
	int lasting;
	int sent;             /* in this session */
};

static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct warning warnings[MAX_WARNINGS];
static unsigned n_warnings;
static atomic_int unsent;

void ma_warn(int lasting, const char *fmt, ...)
{
	char text[WARNING_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	text[strcspn(text, "\n")] = 0;
	pthread_mutex_lock(&warn_lock);
	for (unsigned i = 0; i < n_warnings; i++)
		if (!strcmp(warnings[i].text, text)) {   /* said already */
			pthread_mutex_unlock(&warn_lock);
			return;
		}
	if (n_warnings < MAX_WARNINGS) {
		struct warning *w = &warnings[n_warnings++];
		memcpy(w->text, text, sizeof(text));
		w->lasting = lasting;
		w->sent = 0;
		atomic_store(&unsent, 1);
	}
	pthread_mutex_unlock(&warn_lock);
}

/* A new session: lasting warnings are said again, the others are over. */
void ma_warnings_new_session(void)
{
	unsigned k = 0;
	pthread_mutex_lock(&warn_lock);
	for (unsigned i = 0; i < n_warnings; i++)
		if (warnings[i].lasting) {
			warnings[k] = warnings[i];
			warnings[k++].sent = 0;
		}
	n_warnings = k;
	atomic_store(&unsent, k > 0);
	pthread_mutex_unlock(&warn_lock);
}

void ma_warnings_emit(void (*emit)(const void *rec, void *ctx), void *ctx)
{
	if (!atomic_load_explicit(&unsent, memory_order_relaxed))
		return;
	pthread_mutex_lock(&warn_lock);
	atomic_store(&unsent, 0);
	for (unsigned i = 0; i < n_warnings; i++) {
		if (warnings[i].sent)
			continue;
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		Memattach__Warning w = MEMATTACH__WARNING__INIT;
		w.text = warnings[i].text;
		w.seq = atomic_load(&ma_seq);
		rec.r_case = MEMATTACH__RECORD__R_WARNING;
		rec.warning = &w;
		emit(&rec, ctx);
		warnings[i].sent = 1;
	}
	pthread_mutex_unlock(&warn_lock);
}

/* fork_follow.c: held around a followed fork. */
void ma_warnings_fork_lock(int take)
{
	if (take)
		pthread_mutex_lock(&warn_lock);
	else
		pthread_mutex_unlock(&warn_lock);
}
