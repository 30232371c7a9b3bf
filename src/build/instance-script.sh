# shellcheck shell=bash
# The body of the script the builder runs over SSM (AWS-RunShellScript in Bottlerocket's control
# container). src/instance-script.ts puts a generated header of single-quoted values before it:
#   REFS SRCS AUTH PLATFORMS (arrays), SNAPSHOTTER ON_MISSING_PLATFORM CONCURRENCY QUIESCE PRUNE
#   ADMIN_WAIT_SECONDS RETRY_DELAY CTR_SOCKET ECR_CREDENTIAL_PROVIDER TRANSIENT PERMANENT
#   MAX_MESSAGE_CHARS LOG_BYTES SCRUB_PATHS SCRUB_CONTENTS (arrays) SSM_STATE REPORT_FILE P
# shellcheck disable=SC2153,SC2154 # every variable above comes from the generated header
#
# What the real tools do, and where it is written (the reasons for the shape of this script):
#  - apiclient exec gives the command ONE pipe for stdout and stderr and writes all of it to its
#    own stdout (bottlerocket-core-kit sources/api/apiserver/src/server/exec/child.rs pipe_fds;
#    sources/api/apiclient/src/exec.rs). So every command's output is read as one stream here;
#    nothing is ever expected on stderr.
#  - Without a TTY it reads its stdin to EOF and forwards it (apiclient src/exec.rs): a command
#    that must not read stdin gets /dev/null, or it would swallow the caller's loop input.
#  - ctr prints its error as "ctr: <message>" (containerd cmd/ctr/main.go), after any progress.
#  - ctr images pull --local is the client-side path: on containerd 1.7 it is the default
#    (BoolTFlag), on 2.x it must be asked for (cmd/ctr/commands/images/pull.go). It unpacks every
#    requested platform for the chosen snapshotter and fails on a platform an index lacks
#    ("no match for platform in manifest", images/image.go Manifest). Through 2.x's transfer
#    service instead, a missing platform is exit 0 with nothing pulled and only the daemon's
#    unpack_config platforms (Bottlerocket: the host's) are unpacked.
#  - A single-manifest image is accepted for any --platform (images.Manifest checks the platform
#    only below an index), so the platform is checked here against `images ls`' PLATFORMS.
#  - 2.x `images tag` through the transfer service stores the target without labels; --local
#    keeps them (cmd/ctr/commands/images/tag.go). The labels are checked after naming anyway.
#  - ctr without a console reprints its whole progress table on every update
#    (pkg/progress/writer.go): output is bounded to the last LOG_BYTES bytes.
#  - The control container's bash may be 4.2 (Amazon Linux 2): no EPOCHREALTIME, no wait -n,
#    and empty arrays expanded as ${a[@]+"${a[@]}"} under set -u.
set -u -o pipefail

WORK=$(mktemp -d) || exit 90
trap 'rm -rf "$WORK"' EXIT

# Runs a command in the host's namespaces through the admin container, with no stdin.
host() { apiclient exec admin sheltie "$@" < /dev/null; }
# The same, forwarding this function's stdin to the command.
host_with_stdin() { apiclient exec admin sheltie "$@"; }
ctr_k8s() { host ctr -a "$CTR_SOCKET" -n k8s.io "$@"; }
now_ms() { date +%s%3N; }
# One line, tabs and newlines flattened, bounded length.
one_line() { tr '\t\r\n' '   ' | sed -e 's/  */ /g' -e 's/^ //' | cut -c1-"$MAX_MESSAGE_CHARS"; }
report() { local IFS=$'\t'; echo "$P	$*"; }
is_listed() { local r; for r in "${REFS[@]}"; do [ "$1" = "$r" ] && return 0; done; return 1; }
# Runs a command, keeping the last LOG_BYTES bytes of its combined output in file $1.
# The exit code is the command's (pipefail; tail itself does not fail).
capture() { local log=$1; shift; "$@" 2>&1 | tail -c "$LOG_BYTES" > "$log"; }
# Why a command failed: ctr's own "ctr: ..." lines, else the last lines that are not progress.
failure_reason() {
  local reason
  reason=$(grep -E '^ctr: |level=(error|fatal)' "$1" | tail -n 2 | one_line)
  [ -n "$reason" ] || reason=$(grep -vE '^[[:space:]]*$|^elapsed:|^(resolv|wait|download|unpack|done)' "$1" | tail -n 3 | one_line)
  printf '%s' "${reason:-the command exited without a message}"
}

# One image's line of `ctr images ls`, found by its name (never by line position: with one stream,
# a size or platform error can come before the header): "NAME TYPE DIGEST N UNIT PLATFORMS LABELS".
image_line() { ctr_k8s images ls "name==$1" 2>&1 | awk -v r="$1" '$1 == r { print; exit }'; }
# Whether an `images ls` PLATFORMS column holds a platform (linux/arm64 is listed as linux/arm64/v8).
has_platform() {
  local p
  for p in ${1//,/ }; do [ "${p%/v8}" = "$2" ] && return 0; done
  return 1
}

# Prints the registry password for a private ECR image, minted on this host from the instance role
# by the kubelet's credential provider (it logs on stderr, which arrives on the same stream).
ecr_password() {
  local request password
  request=$(printf '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"%s"}' "$1")
  printf '%s' "$request" | host_with_stdin "$ECR_CREDENTIAL_PROVIDER" > "$2" 2>&1 || return 1
  password=$(sed -n 's/.*"password"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$2" | head -n 1)
  [ -n "$password" ] || return 1
  printf '%s' "$password"
}

# One pull of one platform, tried again (twice at most, after RETRY_DELAY and 4 x RETRY_DELAY
# seconds) when the registry's answer looks transient; never for a missing image, platform or
# permission. Args: platform source log [--user X].
pull_with_retries() {
  local platform=$1 src=$2 log=$3 attempt reason
  shift 3
  for attempt in 1 2 3; do
    if capture "$log" ctr_k8s images pull --local --platform "$platform" --snapshotter "$SNAPSHOTTER" \
        --label io.cri-containerd.image=managed --label io.cri-containerd.pinned=pinned \
        "$@" "$src"; then
      return 0
    fi
    [ "$attempt" -lt 3 ] || return 1
    # Classified by ctr's reason only: progress lines hold names that could match anything.
    reason=$(failure_reason "$log")
    grep -Eqi "$TRANSIENT" <<< "$reason" && ! grep -Eqi "$PERMANENT" <<< "$reason" || return 1
    sleep $(( attempt * attempt * RETRY_DELAY ))
  done
  return 1
}

# Gives a pulled image the name pods use (it came through a pull-through cache under another one),
# with its labels, and drops the source's name. Args: source name log.
rename_image() {
  capture "$3" ctr_k8s images tag --local --force "$1" "$2" || return 1
  ctr_k8s images rm "$1" > /dev/null 2>&1 || true
}

# Labels an image managed (the kubelet lists it) and pinned (image GC keeps it) when a path lost
# them. Args: name line log.
ensure_labels() {
  case "$2" in
    *io.cri-containerd.image=managed*io.cri-containerd.pinned=pinned*) return 0 ;;
  esac
  capture "$3" ctr_k8s images label "$1" io.cri-containerd.image=managed io.cri-containerd.pinned=pinned
}

# After the pulls of an image: its own name, its labels, and what `images ls` says of it. Sets
# line, digest, size, platforms, and failure (why every pulled platform fails, or empty).
finish_image() {
  local i=$1 src=$2 ref=$3
  failure=''
  if [ "$src" != "$ref" ] && ! rename_image "$src" "$ref" "$WORK/tag-$i.log"; then
    failure="pulled as $src, but naming it $ref failed: $(failure_reason "$WORK/tag-$i.log")"
    return
  fi
  line=$(image_line "$ref")
  local size_n size_u
  # NAME TYPE DIGEST SIZE PLATFORMS LABELS, where SIZE is two words ("12.0 MiB").
  read -r _ _ digest size_n size_u platforms _ <<< "$line"
  size="${size_n:--}${size_u:+ $size_u}"
  if ! ensure_labels "$ref" "$line" "$WORK/label-$i.log"; then
    failure="pulled, but labelling it managed and pinned failed: $(failure_reason "$WORK/label-$i.log")"
  fi
}

# Pulls one image for every platform, one platform after the other; writes report lines to
# $WORK/report-<i>.
pull_image() {
  local i=$1 ref=${REFS[$1]} src=${SRCS[$1]} auth=${AUTH[$1]}
  local out="$WORK/report-$i" n platform log start before message
  local line='' digest='' size='' platforms='' failure=''
  local user=() status=() ms=() why=()
  : > "$out"
  # What the volume already held under this name (only a base snapshot brings anything).
  before=''
  if [ "$PRUNE" = 1 ]; then read -r _ _ before _ <<< "$(image_line "$ref")"; fi
  if [ "$auth" = ecr ]; then
    local password
    if ! password=$(ecr_password "$src" "$WORK/auth-$i.log"); then
      message=$( { echo "could not get an ECR token on the instance:"; failure_reason "$WORK/auth-$i.log"; } | one_line)
      for platform in "${PLATFORMS[@]}"; do report pull "$i" "$platform" fail 0 - - 0 "$message" >> "$out"; done
      return
    fi
    user=(--user "AWS:$password")
  fi
  for n in "${!PLATFORMS[@]}"; do
    platform=${PLATFORMS[$n]}
    log="$WORK/pull-$i-$n.log"
    start=$(now_ms)
    if pull_with_retries "$platform" "$src" "$log" ${user[@]+"${user[@]}"}; then
      status[n]=ok
    else
      status[n]=fail
      why[n]=$(failure_reason "$log")
      if [ "$ON_MISSING_PLATFORM" = skip ] && grep -qi 'no match for platform' "$log"; then status[n]=skip; fi
    fi
    ms[n]=$(( $(now_ms) - start ))
  done
  [[ " ${status[*]} " == *" ok "* ]] && finish_image "$i" "$src" "$ref"
  for n in "${!PLATFORMS[@]}"; do
    platform=${PLATFORMS[$n]}
    if [ "${status[n]}" = ok ] && [ -n "$failure" ]; then status[n]=fail; why[n]=$failure; fi
    if [ "${status[n]}" = ok ] && ! has_platform "$platforms" "$platform"; then
      # Exit 0 for a platform the image does not have: a single-platform image of another one.
      why[n]="no match for platform in manifest: the image is for ${platforms:-an unknown platform}, not $platform"
      status[n]=fail
      [ "$ON_MISSING_PLATFORM" = skip ] && status[n]=skip
    fi
    if [ "${status[n]}" = ok ]; then
      report pull "$i" "$platform" ok "${ms[n]}" "${digest:--}" "$size" "$([ -n "$before" ] && [ "$before" = "$digest" ] && echo 1 || echo 0)" "" >> "$out"
    else
      report pull "$i" "$platform" "${status[n]}" "${ms[n]}" - - 0 "$(printf '%s' "${why[n]}" | one_line)" >> "$out"
    fi
  done
}

# SSM can answer before the admin container is up: wait for it, bounded.
report phase admin start
until capture "$WORK/admin.log" host true; do
  if [ "$SECONDS" -ge "$ADMIN_WAIT_SECONDS" ]; then
    report phase admin fail "the admin host container did not start within ${ADMIN_WAIT_SECONDS}s: $(one_line < "$WORK/admin.log")"
    exit 94
  fi
  sleep 2
done
report phase admin ok

report phase prepare start
if ! capture "$WORK/kubelet.log" host systemctl stop kubelet; then
  report phase prepare fail "$(one_line < "$WORK/kubelet.log")"
  exit 91
fi
report phase prepare ok

if [ "$PRUNE" = 1 ]; then
  # The volume came from an earlier snapshot: drop what is no longer listed. Bottlerocket's own
  # images (localhost/...) and the sha256:<id> references CRI keeps beside names stay; removing
  # with --sync lets containerd collect the content now.
  report phase prune start
  if ! capture "$WORK/existing" ctr_k8s images ls -q; then
    report phase prune fail "$(failure_reason "$WORK/existing")"
    exit 93
  fi
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    case "$name" in localhost/* | sha256:*) continue ;; esac
    # Listed as it is (pinned by digest), or by the name it was pulled with.
    is_listed "$name" && continue
    is_listed "${name%%@sha256:*}" && continue
    if capture "$WORK/rm.log" ctr_k8s images rm --sync "$name"; then
      report remove "$name" | tee -a "$WORK/removed"
    else
      report remove-failed "$name" "$(failure_reason "$WORK/rm.log")" | tee -a "$WORK/removed"
    fi
  done < <(grep -v '^ctr: \|level=' "$WORK/existing")
  report phase prune ok
fi

report phase pull start
for i in "${!REFS[@]}"; do
  # At most CONCURRENCY pulls at once: wait for a slot.
  while [ "$(jobs -rp | wc -l)" -ge "$CONCURRENCY" ]; do sleep 0.2; done
  pull_image "$i" &
done
wait

# The report: failures first, so they are named even when SSM cuts the output (24,000
# characters), then the pulls that went well. The whole report is also kept in REPORT_FILE,
# which the action reads in pages when the output was cut.
for i in "${!REFS[@]}"; do
  awk -F '\t' '$5 != "ok"' "$WORK/report-$i" >> "$WORK/not-ok"
  awk -F '\t' '$5 == "ok"' "$WORK/report-$i" >> "$WORK/ok"
done
touch "$WORK/not-ok" "$WORK/ok"
pulled=$(wc -l < "$WORK/ok")
failed=$(awk -F '\t' '$5 == "fail"' "$WORK/not-ok" | wc -l)
skipped=$(( $(wc -l < "$WORK/not-ok") - failed ))
mkdir -p "$(dirname "$REPORT_FILE")"
{
  report count "$pulled" "$skipped" "$failed"
  cat "$WORK/not-ok" "$WORK/ok"
  report end "$pulled" "$skipped" "$failed"
} > "$REPORT_FILE"
report count "$pulled" "$skipped" "$failed"
cat "$WORK/not-ok" "$WORK/ok"
# An output this short is never cut (SSM keeps 24,000 characters; the phase lines are a few
# hundred): nobody will read the file, so it goes.
touch "$WORK/removed"
if [ $(( $(wc -c < "$REPORT_FILE") + $(wc -c < "$WORK/removed") )) -lt 20000 ]; then rm -f "$REPORT_FILE"; fi

# What belongs to this builder rather than to the images must not reach every node that boots
# from the snapshot (README "What the snapshot holds"): its host keys, its journal, its SSM agent's
# registration key. The host has coreutils, findutils and systemd, no shell (bottlerocket-core-kit
# packages/release/release.spec), so nothing here relies on a glob.
scrub() {
  local d
  # journald writes to /run from now on, so its files on /local can go (systemd journalctl(1)).
  host journalctl --relinquish-var || return 1
  host rm -rf -- "${SCRUB_PATHS[@]}" || return 1
  for d in "${SCRUB_CONTENTS[@]}"; do
    if host test -d "$d"; then host find "$d" -mindepth 1 -delete || return 1; fi
  done
  if [ "$QUIESCE" = 1 ]; then
    # Snapshotted running: the agent's state cannot go while it runs this command; its private key can.
    host rm -rf -- "$SSM_STATE/Vault"
  else
    # Stopped before the snapshot: the whole agent state goes at shutdown, once the control
    # container has stopped (stop order is the reverse of Before=) and before /local is unmounted.
    host systemd-run --unit=bottlerocket-ebs-snapshot-scrub --property=Type=oneshot \
      --property=RemainAfterExit=yes --property=RequiresMountsFor=/local \
      --property=Before=host-containers@control.service \
      "--property=ExecStop=/usr/bin/rm -rf -- $SSM_STATE" /usr/bin/true
  fi
}

if [ "$failed" = 0 ]; then
  report phase scrub start
  if ! capture "$WORK/scrub.log" scrub; then
    report phase scrub fail "$(failure_reason "$WORK/scrub.log")"
    exit 95
  fi
  report phase scrub ok
fi

if [ "$QUIESCE" = 1 ] && [ "$failed" = 0 ]; then
  report phase quiesce start
  capture "$WORK/quiesce.log" host systemctl stop containerd || { report phase quiesce fail "$(one_line < "$WORK/quiesce.log")"; exit 92; }
  report phase quiesce ok
fi
host sync > /dev/null 2>&1 || true

report end "$pulled" "$skipped" "$failed"
[ "$failed" = 0 ] || exit 1
