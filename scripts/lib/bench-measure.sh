# Shared timing for the side-by-side benchmarks (sourced). The caller sets W (work directory), RUNS,
# BENCH_NO_HYPERFINE (1: time with a shell loop even when hyperfine is installed) and defines say/die.
#
# measure KEY WARMUP PREPARE COMMAND: runs COMMAND (a sh command line) RUNS times after WARMUP runs,
# PREPARE (may be empty) before every run, untimed; stores the median and minimum in milliseconds in
# MED[KEY] and MIN[KEY].
declare -A MED MIN
HYPERFINE=$(command -v hyperfine || true)
if [[ ${BENCH_NO_HYPERFINE:-0} == 1 ]]; then HYPERFINE=""; fi
measure() {
    local key=$1 warmup=$2 prepare=$3 cmd=$4 json=$W/hf-$1.json
    say "measuring $key: $cmd"
    if [[ -n $HYPERFINE ]]; then
        local args=(--style basic --warmup "$warmup" --runs "$RUNS" --export-json "$json" --command-name "$key")
        [[ -n $prepare ]] && args+=(--prepare "$prepare")
        "$HYPERFINE" "${args[@]}" "$cmd" >&2
        MED[$key]=$(jq -r '.results[0].median * 1000' "$json")
        MIN[$key]=$(jq -r '.results[0].min * 1000' "$json")
    else
        local i t0 t1 times=()
        for ((i = 0; i < warmup + RUNS; i++)); do
            [[ -n $prepare ]] && sh -c "$prepare"
            t0=$(date +%s%N)
            sh -c "$cmd" >/dev/null 2>"$W/stderr" || { cat "$W/stderr" >&2; die "$key failed"; }
            t1=$(date +%s%N)
            ((i >= warmup)) && times+=($(((t1 - t0) / 1000)))
        done
        MED[$key]=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2) / 1000}')
        MIN[$key]=$(printf '%s\n' "${times[@]}" | sort -n | awk 'NR==1 {print $1 / 1000}')
    fi
}
# measure_pair WARMUP KEY_A PREPARE_A COMMAND_A KEY_B PREPARE_B COMMAND_B: times the two commands
# alternately (A, B, B, A, ...; scripts/lib/interleave.py) RUNS times each after WARMUP rounds, so that
# the machine's speed drifting during the run weighs on both alike; stores MED and MIN like measure.
measure_pair() {
    local warmup=$1 key val min
    say "measuring $2 and $5 alternately: $4 | $7"
    while read -r key val min; do
        MED[$key]=$val
        MIN[$key]=$min
    done < <(python3 "$(dirname "${BASH_SOURCE[0]}")/interleave.py" "$RUNS" "$warmup" "$2" "$3" "$4" "$5" "$6" "$7" || die "measuring $2 and $5 failed")
    [[ -n ${MED[$2]:-} && -n ${MED[$5]:-} ]] || die "measuring $2 and $5 gave no figures"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
