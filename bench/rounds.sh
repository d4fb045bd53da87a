# rounds.sh — sourced by the benchmarks that interleave their runs.

# interleave ROUNDS "WORKLOADS" "TOOLS": `run TOOL WORKLOAD` for every pair,
# round by round, so that a change of load on the machine falls on all.
interleave() {
	local r w tool
	for r in $(seq "$1"); do
		for w in $2; do
			for tool in $3; do
				run "$tool" "$w"
			done
		done
		echo "  round $r done" >&2
	done
}
