/* agent.h — the agent's public entry points, called by LD_PRELOAD's
 * constructor (memattach run) or by the injector's remote call (--pid).
 *
 * The configuration is one string of ';'-separated key=value pairs:
 *   socket=PATH     Unix stream socket the CLI listens on (required); @NAME:
 *                   the abstract socket NAME (a root with no place for a file)
 *   depth=N         native frames per stack (default 64, max 256)
 *   python=0|1      read Python frames (default 1 when CPython is present)
 *   pyalloc=0|1     wrap the PyMem domains (default 0)
 *   pynative=0|1    in Python processes keep every native frame (default 0:
 *                   the native frames below the innermost Python frame, and
 *                   the Python frames above it)
 *   stall_us=N      longest wait of a thread for a CLI that does not read
 *                   (default 100000)
 *   onstall=drop|end past it: drop events and count them (default), or
 *                   end the session
 *   inproc=1        started by the program itself (the Python Tracker): the
 *                   setup is done in the start call, as when preloaded,
 *                   so that everything after the call is tracked
 *   pid=N           (LD_PRELOAD only) start only in process N: the one
 *                   `run` started and the programs it execs in place
 * Unknown keys are ignored so that an older agent accepts a newer CLI. */
#ifndef MEMATTACH_AGENT_H
#define MEMATTACH_AGENT_H

/* Environment variable read by the constructor under LD_PRELOAD. */
#define MEMATTACH_AGENT_CONFIG_ENV "MEMATTACH_AGENT_CONFIG"

#define MEMATTACH_AGENT_API __attribute__((visibility("default")))

/* Starts tracking: connects, sends the header and module map, patches the
 * GOT entries.  Returns 0, or a negative errno-style code:
 *   -EALREADY  already tracking (another memattach is attached)
 *   -EINVAL    bad configuration string
 *   -ECONNREFUSED / -ENOENT  could not connect to the socket
 * It never blocks for long: the work of streaming runs on its own thread. */
MEMATTACH_AGENT_API int memattach_agent_start(const char *config);

/* Stops tracking (as Control.STOP would) and waits for the writer thread to
 * flush and close.  Returns 0, or -EALREADY when not tracking. */
MEMATTACH_AGENT_API int memattach_agent_stop(void);

/* For in-process use (the Python Tracker): flushes every thread's events
 * and sends a Tick with sync_id = id (nonzero) whose watermark covers every
 * event made before the call, then returns 0 once it is sent; a reader of
 * the stream that sees that Tick knows the state up to this call.
 * -EPIPE when the session ended first, -EINVAL for id 0. */
MEMATTACH_AGENT_API int memattach_agent_sync(unsigned long long id);

/* 1 while tracking, 0 when inert. */
MEMATTACH_AGENT_API int memattach_agent_active(void);

#endif
