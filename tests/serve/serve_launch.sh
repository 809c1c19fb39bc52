# Sourced by the serve tests and bench/serve_load.sh: launch_server LOG ARGS... starts `hifp8 serve
# ARGS... --port 0` in the background, waits for the port it prints, and sets SERVER (pid), PORT, URL.
# Exits the caller, showing the log, if the server does not come up within 60 s.
launch_server() {
  local log=$1
  shift
  "$HIFP8" serve --port 0 "$@" 2> "$log" &
  SERVER=$!
  PORT=
  for _ in $(seq 600); do
    PORT=$(sed -n 's/.*http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n $PORT ]] && break
    kill -0 $SERVER 2> /dev/null || break
    sleep 0.1
  done
  [[ -n $PORT ]] || { echo "FAIL: server did not start"; cat "$log"; exit 1; }
  URL=http://127.0.0.1:$PORT
}
