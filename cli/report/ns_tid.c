/* ns_tid.c — `--thread N` for a target in another pid namespace: N may be
 * the thread's id on the host (what ps and the reports show first) or in
 * its namespace (what the agent recorded).  The capture's TargetIds
 * records pair them; a pass that decodes only those finds N's. */
#include "cli/capture/capture_file.h"
#include "cli/report/report.h"

uint32_t ma_report_ns_tid(const char *path, uint32_t tid)
{
	char err[256];
	ma_capture_reader *r = ma_capture_reader_open(path, err, sizeof err);
	if (!r)
		return tid;       /* the main pass reports what is wrong */
	ma_capture_reader_only(r, MEMATTACH__RECORD__R_TARGET_IDS);
	uint32_t found = 0;
	Memattach__Record *rec;
	while (!found && ma_capture_reader_next(r, &rec) > 0) {
		const Memattach__TargetIds *t = rec->target_ids;
		size_t n = t ? (t->n_tid < t->n_tid_in_namespace ? t->n_tid : t->n_tid_in_namespace) : 0;
		for (size_t i = 0; i < n && !found; i++)
			if (t->tid[i] == tid)
				found = t->tid_in_namespace[i];
		ma_capture_record_free(rec);
	}
	ma_capture_reader_close(r);
	return found ? found : tid;
}
