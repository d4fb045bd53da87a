/* summary.h — pieces of `report summary` (formats/summary.c) in files of
 * their own. */
#ifndef MEMATTACH_SUMMARY_H
#define MEMATTACH_SUMMARY_H

#include <stdio.h>

#include "cli/report/report.h"
#include "cli/util/json_writer.h"

/* --inverted (summary_callers.c): the inverted call tree of a, and under a
 * row's location its biggest callers, as text lines or a JSON "callers"
 * array. */
ma_tree *ma_summary_callers_tree(const ma_analysis *a, const ma_report_opts *o);
void ma_summary_callers_text(FILE *f, const ma_tree *t, const ma_loc *l, ma_metric m, uint64_t all);
void ma_summary_callers_json(ma_json *j, const ma_tree *t, const ma_loc *l, ma_metric m);

#endif
