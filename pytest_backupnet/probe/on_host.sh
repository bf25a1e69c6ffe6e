# The probe for hosts without python3, as `bash -c <this file> probe ARG...`. Each ARG is
# KEY_s=SECONDS (resolve, connect, listing, on_host), max_bytes=N, resolve=NAME:PORT[,PORT],
# glob=PATTERN, read=PATH or command=ID WORD...; every limit comes from the runner. Read-only: it
# writes no file. Needs bash (/dev/tcp), `timeout`, `base64`, `head`, `wc` and getent; prints the
# same records as the Python probe.
set -u
RESOLVE_S=3 CONNECT_S=3 LISTING_S=5 MAX_BYTES=16777216
RESOLVE='' GLOBS='' READS='' COMMANDS=''
NL='
'
for arg in "$@"; do
  case $arg in
    resolve_s=*) RESOLVE_S=${arg#*=} ;;
    connect_s=*) CONNECT_S=${arg#*=} ;;
    listing_s=*) LISTING_S=${arg#*=} ;;
    on_host_s=*) ;;
    max_bytes=*) MAX_BYTES=${arg#*=} ;;
    resolve=*) RESOLVE=$RESOLVE${arg#resolve=}$NL ;;
    glob=*) GLOBS=$GLOBS${arg#glob=}$NL ;;
    read=*) READS=$READS${arg#read=}$NL ;;
    command=*) COMMANDS=$COMMANDS${arg#command=}$NL ;;
  esac
done
export LC_ALL=C PATH="$PATH:/usr/sbin:/sbin"
# Nothing is written on the host: every background job prints its one record line to stdout,
# and a single short write to a pipe is never interleaved with another.
now_ms() { date +%s%3N; }

connect_one() {
  local name=$1 addr=$2 port=$3 start err rc outcome
  start=$(now_ms)
  err=$(timeout "$CONNECT_S" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$addr" "$port" 2>&1)
  rc=$?
  err=${err##*: }
  case $rc:$err in
    0:*) outcome=open err= ;;
    124:*) outcome=timeout err="no answer within ${CONNECT_S}s" ;;
    *"Connection refused"*) outcome=refused ;;
    *"No route to host"*|*"Network is unreachable"*|*"not permitted"*|*"Permission denied"*) outcome=unreachable ;;
    *) outcome=error ;;
  esac
  printf 'connect\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$addr" "$port" "$outcome" \
    "$(( $(now_ms) - start ))" "$err"
}

resolve_one() {
  local name=${1%%:*} ports=${1#*:} start out rc addrs kind
  start=$(now_ms)
  out=$(timeout "$RESOLVE_S" getent ahosts "$name" 2>/dev/null)
  rc=$?
  if [ "$rc" -ne 0 ]; then
    case $rc in 2) kind=nxdomain ;; 124) kind=dns-timeout ;; *) kind=dns-error ;; esac
    printf 'resolve\t%s\t%s\t%s\tgetent exit %s\n' "$name" "$kind" "$(( $(now_ms) - start ))" "$rc"
    return
  fi
  addrs=$(printf '%s\n' "$out" | awk '$2 == "STREAM" && !seen[$1]++ { print $1 }' | paste -sd, -)
  printf 'resolve\t%s\tok\t%s\t%s\n' "$name" "$(( $(now_ms) - start ))" "$addrs"
  local addr port
  for addr in ${addrs//,/ }; do
    for port in ${ports//,/ }; do
      connect_one "$name" "$addr" "$port" &
    done
  done
  wait
}

read_regular() {  # PATH: prints "BASE64<TAB>ERROR"
  local size
  if [ ! -e "$1" ]; then printf '\tno such file'; return; fi
  if [ ! -f "$1" ]; then printf '\tnot a regular file'; return; fi
  if [ ! -r "$1" ]; then printf '\tpermission denied'; return; fi
  size=$(timeout "$LISTING_S" head -c $((MAX_BYTES + 1)) "$1" | wc -c)
  if [ "${size:-0}" -gt "$MAX_BYTES" ]; then printf '\tlarger than %s bytes: not read' "$MAX_BYTES"; return; fi
  printf '%s\t' "$(timeout "$LISTING_S" head -c "$MAX_BYTES" "$1" | base64 -w0)"
}

run_listing() {  # ID WORD...: a read-only listing command
  local id=$1 out err rc
  shift
  if ! command -v "$1" >/dev/null 2>&1; then
    printf 'command\t%s\t\tnot installed\n' "$id"
    return
  fi
  # The x keeps the output's trailing newlines, which command substitution would strip.
  out=$(timeout "$LISTING_S" "$@" 2>/dev/null && printf x)
  rc=$?
  out=${out%x}
  if [ "$rc" -ne 0 ]; then
    # Only on failure: run it again for its last line of stderr (nothing is written anywhere).
    err=$(timeout "$LISTING_S" "$@" 2>&1 >/dev/null | tail -n 1)
    printf 'command\t%s\t\texit %s: %s\n' "$id" "$rc" "$err"
  elif [ "${#out}" -gt "$MAX_BYTES" ]; then
    printf 'command\t%s\t\tlarger than %s bytes: not read\n' "$id" "$MAX_BYTES"
  else
    printf 'command\t%s\t%s\t\n' "$id" "$(printf '%s' "$out" | base64 -w0)"
  fi
}

printf 'probe\tbash\t%s\t%s\n' "${BASH_VERSION%%(*}" "$(uname -n)"
while IFS= read -r path; do
  [ -n "$path" ] && printf 'read\t%s\t%s\n' "$path" "$(read_regular "$path")"
done <<EOF_READS
$READS
EOF_READS
while IFS= read -r pattern; do
  [ -n "$pattern" ] || continue
  paths=$(compgen -G "$pattern" | sort)
  printf 'glob\t%s\t%s\n' "$pattern" "$(printf '%s' "$paths" | grep -c .)"
  while IFS= read -r path; do
    [ -n "$path" ] || continue
    case $(readlink -f "$path") in
      /proc/*|/sys/*|/dev/*) printf 'file\t%s\t%s\t\tnot read: under /proc, /sys or /dev\n' "$pattern" "$path" ;;
      *) printf 'file\t%s\t%s\t%s\n' "$pattern" "$path" "$(read_regular "$path")" ;;
    esac
  done <<EOF_PATHS
$paths
EOF_PATHS
done <<EOF_GLOBS
$GLOBS
EOF_GLOBS
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  set -f
  # shellcheck disable=SC2086 - the words are the runner's own plain words
  run_listing $entry
  set +f
done <<EOF_COMMANDS
$COMMANDS
EOF_COMMANDS
# Large records (files, listings) are all out before the concurrent, one-line records begin.
while IFS= read -r entry; do
  [ -n "$entry" ] && resolve_one "$entry" &
done <<EOF_RESOLVE
$RESOLVE
EOF_RESOLVE
wait
printf 'end\t0\n'
