#!/usr/bin/env bash
# The OLMo ladder's chained 13B-5T task predictions (Bhagia et al. 2024), with scalecli, beside
# the ones the authors' scripts/predict.py published (chained_main.csv).
#   bash scripts/olmo_ladder.sh        (from the repository's root; writes into a temp folder)
# The ladder's files are not bundled (tests/data/olmo_ladder/README.md says where they come from):
# they are read from $SCALECLI_OLMO_DATA, or else from tests/data/olmo_ladder.
set -euo pipefail
data=${SCALECLI_OLMO_DATA:-tests/data/olmo_ladder}
for f in ladder.csv.gz chained_main.csv; do
  if [ ! -f "$data/$f" ]; then
    echo "olmo_ladder.sh: $data/$f not found: put the OLMo ladder's files there or set SCALECLI_OLMO_DATA (tests/data/olmo_ladder/README.md)" >&2
    exit 1
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MMLU="0.215*mmlu_stem_test_X + 0.335*mmlu_humanities_test_X + 0.219*mmlu_social_sciences_test_X + 0.231*mmlu_other_test_X"
echo "| task | published prediction | scalecli | 13B-5T observed |"
echo "|---|---:|---:|---:|"
while IFS=, read -r task actual pred _; do
  t=${task%_5shot}
  if [ "$t" = mmlu_avg_test ]; then x=${MMLU//_X/_bpb}; y=${MMLU//_X/_acc}; else x=${t}_bpb; y=${t}_acc; fi
  scalecli fit "$data/ladder.csv.gz" --law chinchilla --y "$x" --reduce mean-last:5 \
    --save "$tmp/s1.json" >/dev/null 2>&1
  scalecli fit "$data/ladder.csv.gz" --law sigmoid --x "$x" --y "$y" --points all \
    --skip-fraction 0.1 --smooth moving-mean:5 --anchor x=0,y=1 --step1 "$tmp/s1.json" \
    --save "$tmp/s2.json" >/dev/null 2>&1
  got=$(scalecli predict --fit "$tmp/s1.json" --at N=13202396160,D=5000088518656 \
    --then "$tmp/s2.json" --format csv 2>/dev/null | tail -1 | cut -d, -f5)
  printf '| %s | %.6f | %.6f | %.4f |\n' "$t" "$pred" "$got" "$actual"
done < <(tail -n +2 "$data/chained_main.csv")
