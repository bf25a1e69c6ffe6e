# The probe for hosts without python3, as `sh -c <this file> probe ARG...`. Each ARG is
# KEY_s=SECONDS (resolve, connect, connect_kill, listing, on_host), max_bytes=N,
# resolve=NAME:PORT[,PORT], glob=PATTERN, read=PATH or command=ID<US>WORD<US>... (US: the unit
# separator, so that a word may hold spaces); every limit comes from
# the runner. Read-only: it writes no file, not even a here-document's. It prints the same records
# as the Python probe.
#
# POSIX sh only, so that dash, busybox ash and bash (4.2 on, as sh) all run it alike: no arrays, no
# `local`, no here-documents or here-strings (bash before 5.1 writes those to $TMPDIR), no
# `date +%N` (busybox), no `readlink -f` or `base64 -w` assumed. It uses, when the host has them:
#   TCP connects   bash's /dev/tcp (bash --norc -c, nothing else of bash), else busybox `nc -e`
#                  (--norc: a bash started under sshd would read ~/.bashrc, slow and noisy)
#   names          getent ahosts (glibc, musl), else /etc/hosts then busybox `nslookup`
#   files          head, wc, base64
#   every wait     timeout (coreutils exits 124, busybox 143; old busybox takes -t SECONDS)
# What it cannot do it says in a `limit` record, and the checks that need it are not evaluated.
set -u
RESOLVE_S=3 CONNECT_S=3 CONNECT_KILL_S=4 LISTING_S=5 MAX_BYTES=16777216
RESOLVE='' GLOBS='' READS='' COMMANDS=''
NL='
'
US=$(printf '\037')
for arg in "$@"; do
  case $arg in
    resolve_s=*) RESOLVE_S=${arg#*=} ;;
    connect_s=*) CONNECT_S=${arg#*=} ;;
    connect_kill_s=*) CONNECT_KILL_S=${arg#*=} ;;
    listing_s=*) LISTING_S=${arg#*=} ;;
    max_bytes=*) MAX_BYTES=${arg#*=} ;;
    resolve=*) RESOLVE=$RESOLVE${arg#resolve=}$NL ;;
    glob=*) GLOBS=$GLOBS${arg#glob=}$NL ;;
    read=*) READS=$READS${arg#read=}$NL ;;
    command=*) COMMANDS=$COMMANDS${arg#command=}$NL ;;
  esac
done
export LC_ALL=C PATH="$PATH:/usr/sbin:/sbin"
IFS_DEFAULT=$IFS

have() { command -v "$1" >/dev/null 2>&1; }

# Milliseconds since boot, in NOW, from /proc/uptime (10 ms steps): no `date` needed.
now_ms() {
  NOW=0
  IFS=' ' read -r UP_ REST_ 2>/dev/null </proc/uptime || return 0
  FRAC_=${UP_#*.}
  NOW=$(( ${UP_%.*} * 1000 + ${FRAC_#0} * 10 ))
}

# `timeout SECONDS COMMAND...` in whichever form the host's timeout takes.
TIMEOUT_STYLE=none
if have timeout; then
  if timeout 1 true 2>/dev/null; then
    TIMEOUT_STYLE=plain
  elif timeout -t 1 true 2>/dev/null; then
    TIMEOUT_STYLE=old-busybox
  fi
fi
bounded() {
  B_S_=$1
  shift
  if [ "$TIMEOUT_STYLE" = old-busybox ]; then
    case $B_S_ in *.*) B_S_=$(( ${B_S_%%.*} + 1 )) ;; esac  # whole seconds only: round up
    timeout -t "$B_S_" "$@"
  else
    timeout "$B_S_" "$@"
  fi
}
# Exit statuses of a command that `timeout` stopped: coreutils 124, or killed by TERM/KILL.
is_timed_out() { case $1 in 124|137|143) return 0 ;; esac; return 1; }

CONNECTOR=none CONNECT_DESC=none CONNECT_LIMIT=''
RESOLVER=none RESOLVE_DESC=none RESOLVE_LIMIT=''
if [ "$TIMEOUT_STYLE" = none ]; then
  CONNECT_LIMIT="no timeout command (coreutils or busybox) to bound each TCP connect"
  RESOLVE_LIMIT="no timeout command (coreutils or busybox) to bound each name resolution"
else
  if have bash; then
    CONNECTOR=bash
    CONNECT_DESC="bash $(bash --norc -c 'printf %s "${BASH_VERSION%%(*}"' 2>/dev/null) /dev/tcp"
  else
    case $(nc --help 2>&1) in
      *"-e PROG"*) CONNECTOR=nc CONNECT_DESC="busybox nc -e" ;;
    esac
  fi
  [ "$CONNECTOR" = none ] && CONNECT_LIMIT="found no python3, no bash and no busybox nc with -e: \
TCP connects need python3 3.6+, bash 4.2+ (its /dev/tcp) or busybox nc built with -e"
  if have getent; then
    RESOLVER=getent RESOLVE_DESC="getent ahosts"
  elif have nslookup && have awk; then
    RESOLVER=nslookup RESOLVE_DESC="/etc/hosts, then nslookup"
  else
    RESOLVE_LIMIT="found no python3, no getent and no nslookup: name resolution needs python3 \
3.6+, getent (glibc or musl) or busybox nslookup"
  fi
fi

# A connect's detail in the Python probe's words, from the connector's message.
connect_detail() {
  case $1 in
    *"Connection refused"*) DETAIL="connection refused (RST or ICMP port unreachable)" ;;
    *"No route to host"*) DETAIL="EHOSTUNREACH: No route to host" ;;
    *"Network is unreachable"*) DETAIL="ENETUNREACH: Network is unreachable" ;;
    *"not permitted"*) DETAIL="EPERM: Operation not permitted" ;;
    *"Permission denied"*) DETAIL="EACCES: Permission denied" ;;
    *) DETAIL=$(printf '%s' "$1" | tr '\t\r\n' '   ') ;;
  esac
}

connect_one() {  # NAME ADDRESS PORT, in its own background job
  now_ms
  C_START=$NOW
  # The connect may run past CONNECT_S to CONNECT_KILL_S: a SYN that the host's own firewall
  # rejects fails a blocking connect only at its first retransmission, a second later, where
  # Python's non-blocking connect sees it at once; and a busy host may take a while to start
  # bash or nc. The time measured here includes that start, so a connect that completes is open.
  if [ "$CONNECTOR" = bash ]; then
    C_OUT=$(bounded "$CONNECT_KILL_S" bash --norc -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1 </dev/null)
  else
    C_OUT=$(bounded "$CONNECT_KILL_S" nc "$2" "$3" -e true 2>&1 </dev/null)  # -e after the address
  fi
  C_RC=$?
  now_ms
  C_MS=$(( NOW - C_START ))
  connect_detail "$C_OUT"
  case $C_RC:$C_OUT in
    0:*) C_OUTCOME=open DETAIL='' ;;
    *"Connection refused"*) C_OUTCOME=refused ;;
    *"No route to host"*|*"Network is unreachable"*|*"not permitted"*|*"Permission denied"*) C_OUTCOME=unreachable ;;
    *) if is_timed_out "$C_RC"; then C_OUTCOME=timeout; else C_OUTCOME=error; fi ;;
  esac
  [ "$C_OUTCOME" = timeout ] && DETAIL="no answer within ${CONNECT_S}s"
  printf 'connect\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$C_OUTCOME" "$C_MS" "$DETAIL"
}

add_address() {  # ADDRESS: appended to ADDRS once
  case ,$ADDRS, in
    *,"$1",*) ;;
    *) ADDRS=${ADDRS:+$ADDRS,}$1 ;;
  esac
}

resolve_getent() {  # NAME -> R_KIND, ADDRS, R_DETAIL
  R_OUT=$(bounded "$RESOLVE_S" getent ahosts "$1" 2>/dev/null)
  R_RC=$?
  case $R_RC in
    0) R_KIND=ok ;;
    2) R_KIND=nxdomain R_DETAIL="getent exit 2: not found" ;;
    *) if is_timed_out "$R_RC"; then R_KIND=dns-timeout; else R_KIND=dns-error; fi
       R_DETAIL="getent exit $R_RC" ;;
  esac
  IFS=$NL
  set -f
  for R_LINE in $R_OUT; do
    IFS=$IFS_DEFAULT
    # shellcheck disable=SC2086 - split into words on purpose
    set -- $R_LINE
    [ "${2:-}" = STREAM ] && add_address "$1"
  done
  set +f
  IFS=$IFS_DEFAULT
}

resolve_nslookup() {  # NAME -> R_KIND, ADDRS, R_DETAIL; /etc/hosts first, as glibc and musl do
  ADDRS=$(awk -v name="$1" 'BEGIN { name = tolower(name) }
    { sub(/#.*/, "") }
    { for (i = 2; i <= NF; i++) if (tolower($i) == name && !seen[$1]++) { out = out (out == "" ? "" : ",") $1 } }
    END { print out }' /etc/hosts 2>/dev/null)
  if [ -n "$ADDRS" ]; then
    R_KIND=ok
    return
  fi
  R_OUT=$(bounded "$RESOLVE_S" nslookup "$1" 2>&1)
  R_RC=$?
  # busybox 1.28 on: "Name: x" then "Address: a"; older: "Address 1: a x". The server's own
  # address comes before the first "Name:" line.
  ADDRS=$(printf '%s\n' "$R_OUT" | awk '/^Name:/ { named = 1; next }
    named && /^Address/ { a = $0; sub(/^Address[ 0-9]*:[ \t]*/, "", a); sub(/[ \t].*/, "", a)
                          if (a != "" && !seen[a]++) out = out (out == "" ? "" : ",") a }
    END { print out }')
  if [ -n "$ADDRS" ]; then
    R_KIND=ok
    return
  fi
  R_DETAIL="nslookup: $(printf '%s\n' "$R_OUT" | awk 'NF { last = $0 } END { print last }' | tr '\t\r' '  ')"
  case $R_OUT in
    *NXDOMAIN*) R_KIND=nxdomain ;;
    *"timed out"*|*"no servers could be reached"*) R_KIND=dns-timeout ;;
    *) if is_timed_out "$R_RC"; then R_KIND=dns-timeout R_DETAIL="nslookup: no answer within ${RESOLVE_S}s"
       elif [ "$R_RC" -eq 0 ]; then R_KIND=no-address
       else R_KIND=dns-error; fi ;;
  esac
}

resolve_one() {  # NAME:PORT[,PORT], in its own background job
  R_NAME=${1%%:*}
  R_PORTS=${1#*:}
  ADDRS='' R_DETAIL=''
  now_ms
  R_START=$NOW
  if [ "$RESOLVER" = getent ]; then resolve_getent "$R_NAME"; else resolve_nslookup "$R_NAME"; fi
  now_ms
  if [ "$R_KIND" != ok ] || [ -z "$ADDRS" ]; then
    [ "$R_KIND" = ok ] && R_KIND=no-address
    printf 'resolve\t%s\t%s\t%s\t%s\n' "$R_NAME" "$R_KIND" "$(( NOW - R_START ))" "$R_DETAIL"
    return
  fi
  printf 'resolve\t%s\tok\t%s\t%s\n' "$R_NAME" "$(( NOW - R_START ))" "$ADDRS"
  [ "$CONNECTOR" = none ] && return
  IFS=,
  set -f
  for R_ADDR in $ADDRS; do
    for R_PORT in $R_PORTS; do
      IFS=$IFS_DEFAULT
      connect_one "$R_NAME" "$R_ADDR" "$R_PORT" &
      IFS=,
    done
  done
  set +f
  IFS=$IFS_DEFAULT
  wait
}

encode() { base64 | tr -d '\n'; }  # base64 -w0 is GNU and newer busybox only

read_regular() {  # PATH: prints "BASE64<TAB>ERROR"
  if [ ! -e "$1" ]; then printf '\tno such file'; return; fi
  if [ ! -f "$1" ]; then printf '\tnot a regular file'; return; fi
  if [ ! -r "$1" ]; then printf '\tpermission denied'; return; fi
  for tool in head wc base64; do
    have "$tool" || { printf '\tnot read: no %s on the host' "$tool"; return; }
  done
  SIZE_=$(bounded "$LISTING_S" head -c $((MAX_BYTES + 1)) "$1" | wc -c)
  if [ "${SIZE_:-0}" -gt "$MAX_BYTES" ]; then printf '\tlarger than %s bytes: not read' "$MAX_BYTES"; return; fi
  printf '%s\t' "$(bounded "$LISTING_S" head -c "$MAX_BYTES" "$1" | encode)"
}

# Where a path really leads, for the /proc, /sys and /dev guard of agent configuration globs.
real_path() {
  if have readlink && readlink -f / >/dev/null 2>&1; then
    readlink -f "$1"
  elif have realpath; then
    realpath "$1"
  elif [ -L "$1" ]; then
    printf '%s' "/dev/unresolved-link"  # cannot tell where it leads: treated as not readable
  else
    printf '%s/%s' "$(cd -P "$(dirname "$1")" 2>/dev/null && pwd -P)" "${1##*/}"
  fi
}

# The first executable file NAME on PATH, in EXECUTABLE, as the Python probe finds it: never a
# shell builtin (`command -v echo` says echo) nor busybox ash's own applet.
find_executable() {
  EXECUTABLE=''
  IFS=:
  set -f
  for F_DIR in $PATH; do
    if [ -n "$F_DIR" ] && [ -f "$F_DIR/$1" ] && [ -x "$F_DIR/$1" ]; then
      EXECUTABLE=$F_DIR/$1
      break
    fi
  done
  set +f
  IFS=$IFS_DEFAULT
}

run_listing() {  # ID WORD...: a read-only listing command
  L_ID=$1
  shift
  find_executable "$1"
  if [ -z "$EXECUTABLE" ]; then
    printf 'command\t%s\t\tnot installed\n' "$L_ID"
    return
  fi
  shift
  set -- "$EXECUTABLE" "$@"
  if ! have base64 || [ "$TIMEOUT_STYLE" = none ]; then
    printf 'command\t%s\t\tnot run: no base64 or timeout on the host\n' "$L_ID"
    return
  fi
  # The x keeps the output's trailing newlines, which command substitution would strip.
  L_OUT=$(bounded "$LISTING_S" "$@" 2>/dev/null && printf x)
  L_RC=$?
  L_OUT=${L_OUT%x}
  if [ "$L_RC" -ne 0 ]; then
    # Only on failure: run it again for its last line of stderr (nothing is written anywhere).
    L_ERR=$(bounded "$LISTING_S" "$@" 2>&1 >/dev/null | tail -n 1 | tr '\t\r' '  ')
    printf 'command\t%s\t\texit %s: %s\n' "$L_ID" "$L_RC" "$L_ERR"
  elif [ "${#L_OUT}" -gt "$MAX_BYTES" ]; then
    printf 'command\t%s\t\tlarger than %s bytes: not read\n' "$L_ID" "$MAX_BYTES"
  else
    printf 'command\t%s\t%s\t\n' "$L_ID" "$(printf '%s' "$L_OUT" | encode)"
  fi
}

HOSTNAME_=$(uname -n 2>/dev/null) || read -r HOSTNAME_ 2>/dev/null </proc/sys/kernel/hostname
printf 'probe\tsh\t(connect: %s; resolve: %s)\t%s\n' "$CONNECT_DESC" "$RESOLVE_DESC" "${HOSTNAME_:-}"
if [ -n "$RESOLVE" ]; then
  [ -n "$RESOLVE_LIMIT" ] && printf 'limit\tresolve\t%s\n' "$RESOLVE_LIMIT"
  [ -n "$CONNECT_LIMIT" ] && printf 'limit\tconnect\t%s\n' "$CONNECT_LIMIT"
fi

IFS=$NL
set -f
for path in $READS; do
  IFS=$IFS_DEFAULT
  printf 'read\t%s\t%s\n' "$path" "$(read_regular "$path")"
done
IFS=$NL
for pattern in $GLOBS; do
  IFS=''
  set +f
  # Pathname expansion, without field splitting: each match is one word; sorted, as sh sorts.
  # shellcheck disable=SC2086
  set -- $pattern
  set -f
  IFS=$IFS_DEFAULT
  if [ $# -eq 1 ] && [ ! -e "$1" ] && [ ! -L "$1" ]; then set --; fi
  printf 'glob\t%s\t%s\n' "$pattern" "$#"
  for path in "$@"; do
    case $(real_path "$path") in
      /proc/*|/sys/*|/dev/*) printf 'file\t%s\t%s\t\tnot read: under /proc, /sys or /dev\n' "$pattern" "$path" ;;
      *) printf 'file\t%s\t%s\t%s\n' "$pattern" "$path" "$(read_regular "$path")" ;;
    esac
  done
  IFS=$NL
done
for entry in $COMMANDS; do
  IFS=$US  # ID and words, joined by the unit separator: a word may hold spaces
  # shellcheck disable=SC2086 - split on the separator on purpose
  run_listing $entry
  IFS=$NL
done
IFS=$IFS_DEFAULT
set +f
# Large records (files, listings) are all out before the concurrent, one-line records begin.
if [ -z "$RESOLVE_LIMIT" ]; then
  IFS=$NL
  set -f
  for entry in $RESOLVE; do
    IFS=$IFS_DEFAULT
    resolve_one "$entry" &
  done
  set +f
  IFS=$IFS_DEFAULT
fi
wait
printf 'end\t0\n'
