#!/bin/bash
# cache.sh — names kept from one capture to the next (cli/symbols/
# symbol_cache.c).  The second capture of the same binary gets exactly the
# Symbol records the first got, and from the cache: `memattach symbolize`
# still names the binary's frames once the binary is gone (and names none
# with MEMATTACH_SYMBOL_CACHE=off).  A damaged or cut cache file is
# ignored without a word and written anew.  Names read from a separate
# debug file found by build id are kept under that file's identity: when
# it goes, so do they.  (The rest of the suite runs with the cache off.)
. "$(dirname "$0")/symcommon.sh"
for t in objcopy strip readelf; do
	command -v $t >/dev/null || { echo "SKIP: $t is needed (apt-get install binutils)"; exit 77; }
done
export MEMATTACH_SYMBOL_CACHE=on MEMATTACH_CACHE_DIR=$sym_tmp/cache
direct=$(marker_line symtarget.c SYM_DIRECT_ALLOC)
inl=$(marker_line symtarget.c SYM_INLINE_ALLOC)
call=$(marker_line symtarget.c SYM_INLINE_CALL)
build_id() { readelf -n "$1" | awk '/Build ID/ { print $3; exit }'; }
# names CAPTURE — its Symbol records without the addresses (ASLR moves them)
names() { sed 's/^0x[0-9a-f]*	//' "$1.syms" | sort; }
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$sym_tmp/bin"
t=$sym_tmp/bin/symtarget
cp "$SYMDIR/symtarget" "$t"
bid=$(build_id "$t")
[ -n "$bid" ] || fail "symtarget has no build id"

# 1. The first capture fills the cache; the second reads the same names.
sym_run "$sym_tmp/a.cap" "$t"
expect_frame "$sym_tmp/a.cap" "alloc_direct (*symtarget.c:$direct)"
f=$(ls "$MEMATTACH_CACHE_DIR"/symbols/"$bid"-u"$(id -u)"-*.msym 2>/dev/null)
[ -n "$f" ] || fail "no cache file for symtarget ($bid) in $MEMATTACH_CACHE_DIR/symbols"
kept=$("$SYMCHECK" "$f" | grep -c '^0x')
want=$(grep -c "/symtarget+0x" "$sym_tmp/a.cap.syms")
[ "$kept" = "$want" ] || fail "the cache holds $kept names of symtarget, the capture $want"
echo "ok: $kept names of symtarget kept"
sym_run "$sym_tmp/b.cap" "$t"
cmp -s <(names "$sym_tmp/a.cap") <(names "$sym_tmp/b.cap") ||
	{ diff <(names "$sym_tmp/a.cap") <(names "$sym_tmp/b.cap") | head; fail "the second capture's names differ"; }
echo "ok: the second capture's $(grep -c '^0x' "$sym_tmp/b.cap.syms") Symbol records are the first's"

# 2. Read from the cache, not the binary: gone, its frames are still named.
"$SYMCHECK" --strip "$sym_tmp/b.cap" "$sym_tmp/cut.cap" || fail "symcheck --strip"
cp "$sym_tmp/cut.cap" "$sym_tmp/cut-off.cap"
mv "$t" "$t.away"
"$MEMATTACH" symbolize "$sym_tmp/cut.cap" 2>"$sym_tmp/serr" || { cat "$sym_tmp/serr"; fail "symbolize exited $?"; }
sym_report "$sym_tmp/cut.cap"
cmp -s "$sym_tmp/b.cap.syms" "$sym_tmp/cut.cap.syms" ||
	{ diff "$sym_tmp/b.cap.syms" "$sym_tmp/cut.cap.syms" | head; fail "names from the cache differ"; }
echo "ok: with the binary gone, symbolize named every frame as the capture did"
MEMATTACH_SYMBOL_CACHE=off "$MEMATTACH" symbolize "$sym_tmp/cut-off.cap" 2>"$sym_tmp/serr" ||
	{ cat "$sym_tmp/serr"; fail "symbolize (cache off) exited $?"; }
sym_report "$sym_tmp/cut-off.cap"
grep -q "	alloc_direct	" "$sym_tmp/cut-off.cap.syms" && fail "alloc_direct named with the cache off and the binary gone"
echo "ok: with the cache off, nothing names them"
mv "$t.away" "$t"

# 3. A damaged cache file, then a cut one: ignored, names exact, rewritten.
for damage in garbage cut; do
	case $damage in
	garbage) head -c 4096 /dev/urandom >"$f" ;;
	cut) truncate -s $(($(stat -c %s "$f") / 2)) "$f" ;;
	esac
	sym_run "$sym_tmp/$damage.cap" "$t"
	cmp -s <(names "$sym_tmp/a.cap") <(names "$sym_tmp/$damage.cap") || fail "names differ after a $damage cache file"
	n=$("$SYMCHECK" "$f" 2>/dev/null | grep -c '^0x')
	[ "$n" = "$kept" ] || fail "after a $damage cache file it holds $n names, not $kept"
	echo "ok: a $damage cache file: names exact, the file written anew ($n names)"
done

# 4. A debug file found by build id (in a root given to symbolize): its
# names are kept under its identity, and go with it.
export MEMATTACH_CACHE_DIR=$sym_tmp/cache2
root=$sym_tmp/root
s=$sym_tmp/bin/stripped
cp "$SYMDIR/symtarget" "$s"
sbid=$(build_id "$s")
objcopy --only-keep-debug "$s" "$sym_tmp/s.debug" && strip --strip-all "$s" || fail "cannot strip"
dbg=$root/usr/lib/debug/.build-id/${sbid:0:2}/${sbid:2}.debug
mkdir -p "$(dirname "$dbg")" "$root$(dirname "$s")"
cp "$s" "$root$s"
sym_run "$sym_tmp/s.cap" "$s"
"$SYMCHECK" --strip "$sym_tmp/s.cap" "$sym_tmp/s-cut.cap" || fail "symcheck --strip"
resym() {   # resym NAME — the cut capture symbolized through the root
	"$MEMATTACH" symbolize --root "$root" -o "$sym_tmp/$1.cap" "$sym_tmp/s-cut.cap" 2>"$sym_tmp/serr" ||
		{ cat "$sym_tmp/serr"; fail "symbolize --root exited $?"; }
	sym_report "$sym_tmp/$1.cap"
}
cp "$sym_tmp/s.debug" "$dbg"
resym with-debug
expect_frame "$sym_tmp/with-debug.cap" "alloc_direct (*symtarget.c:$direct)"
ls "$MEMATTACH_CACHE_DIR"/symbols/"$sbid"-*.msym >/dev/null 2>&1 || fail "names from a build-id debug file not kept"
rm "$dbg"
resym without-debug
grep -q "symtarget.c:$direct" "$sym_tmp/without-debug.cap.syms" &&
	fail "the debug file is gone but its lines are still named (from the cache)"
echo "ok: the debug file gone, its names went with it"
cp "$sym_tmp/s.debug" "$dbg"
resym debug-back
expect_frame "$sym_tmp/debug-back.cap" "alloc_direct (*symtarget.c:$direct)"
cmp -s "$sym_tmp/with-debug.cap.syms" "$sym_tmp/debug-back.cap.syms" || fail "names differ with the debug file back"

# 5. Off: nothing written.
export MEMATTACH_SYMBOL_CACHE=off MEMATTACH_CACHE_DIR=$sym_tmp/cache3
sym_run "$sym_tmp/off.cap" "$t"
[ -e "$MEMATTACH_CACHE_DIR" ] && fail "MEMATTACH_SYMBOL_CACHE=off wrote $MEMATTACH_CACHE_DIR"
echo "ok: MEMATTACH_SYMBOL_CACHE=off writes no cache"
echo "PASS"
