/* rx_viewer.h — Tracker(live_mode=True): the receiver listens on a socket
 * the Python side names, and a `memattach live --connect PATH` reads the
 * tracker's records there as it would read an agent's stream: from the
 * tracker's start (what came before the viewer did is kept for it). */
#ifndef MEMATTACH_RX_VIEWER_H
#define MEMATTACH_RX_VIEWER_H

#include <stddef.h>
#include "memattach.pb-c.h"

struct rx_tracker;

/* Listens on path (mode 0600; an old socket there is removed).  0, or -1
 * with a message. */
int rx_viewer_listen(struct rx_tracker *t, const char *path, char *err, size_t errlen);
/* Takes a viewer waiting on t's socket (non-blocking): 1 when one came
 * (the records so far are sent to it), else 0. */
int rx_viewer_accept(struct rx_tracker *t);
/* One record to the viewer (kept until one comes); a viewer that went
 * away is forgotten, tracking goes on. */
void rx_viewer_send(struct rx_tracker *t, const Memattach__Record *r);
/* The viewer quit (it hung up, or asked the "agent" to stop): forgotten,
 * so that it sees the end at once. */
void rx_viewer_check(struct rx_tracker *t);
void rx_viewer_close(struct rx_tracker *t);

#endif
