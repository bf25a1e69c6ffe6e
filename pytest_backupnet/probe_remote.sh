# The probe for hosts without python3, as `bash -c <this file> probe ARG...`, where each ARG
# is timeout=S, listen=1, resolve=NAME:PORT[,PORT], or file=GLOB. Read-only: it writes no file.
# Needs bash (/dev/tcp), coreutils `timeout` and `base64`, and getent; prints the same
# records as the Python probe.
set -u
T=3
LISTEN=0
FIREWALL=0
RESOLVE=()
FILES=()
for arg in "$@"; do
  case $arg in
    timeout=*) T=${arg#timeout=} ;;
    listen=*) LISTEN=${arg#listen=} ;;
    firewall=*) FIREWALL=${arg#firewall=} ;;
    resolve=*) RESOLVE+=("${arg#resolve=}") ;;
    file=*) FILES+=("${arg#file=}") ;;
  esac
done
# Nothing is written on the host: every background job prints its one record line to stdout,
# and a single short write to a pipe is never interleaved with another.
now_ms() { date +%s%3N; }

connect_one() {
  local name=$1 addr=$2 port=$3 start err rc outcome
  start=$(now_ms)
  err=$(timeout "$T" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$addr" "$port" 2>&1)
  rc=$?
  err=${err##*: }
  case $rc:$err in
    0:*) outcome=open err= ;;
    124:*) outcome=timeout err="no answer within ${T}s" ;;
    *"Connection refused"*) outcome=refused ;;
    *"No route to host"*|*"Network is unreachable"*|*"not permitted"*|*"Permission denied"*) outcome=unreachable ;;
    *) outcome=error ;;
  esac
  printf 'connect\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$addr" "$port" "$outcome" \
    "$(( $(now_ms) - start ))" "$err"
}

resolve_one() {
  local name=${1%%:*} ports=${1#*:} start out rc addrs
  start=$(now_ms)
  out=$(timeout "$T" getent ahosts "$name" 2>/dev/null)
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

printf 'probe\tbash\t%s\t%s\n' "${BASH_VERSION%%(*}" "$(uname -n)"
if [ "$LISTEN" = 1 ]; then
  for table in tcp tcp6; do
    printf 'proc\t%s\t%s\t\n' "$table" "$(base64 -w0 "/proc/net/$table" 2>/dev/null)"
  done
fi
read_command() {  # NAME ARGV...: a read-only listing, base64, or why there is none
  local name=$1 out
  shift
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; then
    printf 'firewall\t%s\t\tnot installed\n' "$name"
  elif out=$(PATH="$PATH:/usr/sbin:/sbin" timeout "$T" "$@" 2>&1); then
    printf 'firewall\t%s\t%s\t\n' "$name" "$(printf '%s' "$out" | base64 -w0)"
  else
    printf 'firewall\t%s\t\t%s\n' "$name" "${out##*$'\n'}"
  fi
}
if [ "$FIREWALL" = 1 ]; then
  read_command nft nft -j list ruleset
  read_command iptables-legacy iptables-legacy-save
fi
shopt -s nullglob
for pattern in "${FILES[@]}"; do
  IFS=$'\n' read -r -d '' -a paths < <(compgen -G "$pattern" | sort; printf '\0')
  printf 'glob\t%s\t%s\n' "$pattern" "${#paths[@]}"
  for path in "${paths[@]}"; do
    if data=$(head -c 1048576 "$path" 2>&1 | base64 -w0) && [ -r "$path" ]; then
      printf 'file\t%s\t%s\t%s\t\n' "$pattern" "$path" "$data"
    else
      printf 'file\t%s\t%s\t\tunreadable\n' "$pattern" "$path"
    fi
  done
done
# Large records (files, /proc) are all out before the concurrent, one-line records begin.
for entry in "${RESOLVE[@]}"; do
  resolve_one "$entry" &
done
wait
printf 'end\t0\n'
