#!/usr/bin/env bash
# `npm run lint`: the strict type check, eslint, the layer/cycle check and prettier's check.
# They run side by side (two cores: tsc and eslint each take one) and every one runs to the end,
# so one run reports every kind of failure; the exit code is non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

checks=(typecheck lint:eslint lint:layers format:check)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

start=$SECONDS
pids=()
for i in "${!checks[@]}"; do
  (
    t0=$SECONDS
    npm run -s "${checks[$i]}" > "$out/$i.log" 2>&1
    rc=$?
    echo "$rc $((SECONDS - t0))" > "$out/$i.status"
  ) &
  pids+=($!)
done
wait "${pids[@]}"

failed=0
for i in "${!checks[@]}"; do
  read -r rc secs < "$out/$i.status"
  if [ "$rc" = 0 ]; then
    echo "lint: ${checks[$i]} passed (${secs} s)"
  else
    failed=1
    echo "lint: ${checks[$i]} FAILED (${secs} s; npm run ${checks[$i]}):"
    sed 's/^/  /' "$out/$i.log"
  fi
done
echo "lint: $([ "$failed" = 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
exit "$failed"
