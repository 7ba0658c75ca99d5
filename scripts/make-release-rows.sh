#!/usr/bin/env bash
# Writes Tests/DarkroomStoreTests/Fixtures/release-rows.sql: the rows a released Darkroom writes, for the test that
# decodes them with today's code (StoredRowsTests). Run it with the *released* binary, before a change to what the
# store keeps, and commit the output:
#
#   git worktree add /tmp/release <tag-or-commit> && (cd /tmp/release && swift build) &&
#   bash scripts/make-release-rows.sh /tmp/release/.build/debug/darkroom <tag-or-commit>
#
# Every example job of examples/inbox runs on the shipped default model (one per edit mode, done), a broken sidecar
# is rejected, one job stays queued and one is cancelled before it runs. The files' bytes (inputs, results, previews)
# are left out of the dump: the test is about the rows, and the fixture stays small.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: make-release-rows.sh DARKROOM-BINARY RELEASE-NAME}
release=${2:?usage: make-release-rows.sh DARKROOM-BINARY RELEASE-NAME}
work=$(mktemp -d /tmp/darkroom-release-rows.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$work/inbox" "$work/gallery"
cat > "$work/config.json" <<EOF
{"inbox": "$work/inbox", "gallery": "$work/gallery", "database": "$work/darkroom.sqlite",
 "models": {"fashion": "$PWD/models/fashion-mnist"}, "default_model": "fashion"}
EOF
cp examples/inbox/* "$work/inbox/"
echo '{"mode": "paint", "prompt": "a coat"}' > "$work/inbox/broken.json"
"$bin" watch --once --config "$work/config.json" --log-level warning
echo '{"prompt": "a photo of a bag", "seed": 7}' > "$work/inbox/stays-queued.json"
echo '{"prompt": "a photo of an ankle boot", "seed": 8, "priority": 2}' > "$work/inbox/cancelled-early.json"
"$bin" watch --once --paused --config "$work/config.json" --log-level warning
id=$(sqlite3 "$work/darkroom.sqlite" "SELECT id FROM jobs WHERE name = 'cancelled-early'")
"$bin" cancel "$id" --config "$work/config.json"
out=Tests/DarkroomStoreTests/Fixtures/release-rows.sql
mkdir -p "$(dirname "$out")"
{
  echo "-- The rows Darkroom $release writes (scripts/make-release-rows.sh); files' bytes left out."
  sqlite3 "$work/darkroom.sqlite" "UPDATE results SET data = NULL; DELETE FROM job_inputs; UPDATE jobs SET preview = NULL;" ".dump"
} > "$out"
echo "wrote $out ($(wc -c < "$out") bytes, $(sqlite3 "$work/darkroom.sqlite" 'SELECT count(*) FROM jobs') jobs)"
