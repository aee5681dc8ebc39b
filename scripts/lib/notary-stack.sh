# shellcheck shell=bash
# A throw-away notary-server + notary-signer (Notary v1, memory storage) on 127.0.0.1 (sourced).
#
#   notary_stack_up DIR    generates a test CA and leaf certificates, writes both configs, starts the
#                          signer then the server on free loopback ports, waits until the server's
#                          health check passes; sets NOTARY_URL (https://127.0.0.1:PORT) and NOTARY_CA
#   notary_stack_down      stops the two processes it started (TERM, then KILL), by recorded pid only
#
# Everything in DIR is test material: the CA, the keys and all trust data (lost when the server stops).
# Needs: notary-server, notary-signer (Debian package `notary`), openssl, curl, python3, setsid.

NOTARY_STACK_PIDS=()

_notary_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# _notary_leaf DIR NAME EKU SAN : a key and a certificate signed by DIR/ca.crt
_notary_leaf() {
    local d=$1 name=$2 eku=$3 san=$4
    openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$name.key" -subj "/CN=$name" -out "$d/$name.csr" 2>/dev/null
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$eku"
        if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
    } >"$d/$name.ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -days 30 -sha256 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null
    rm -f "$d/$name.csr" "$d/$name.ext"
    chmod 600 "$d/$name.key"
}

_notary_certs() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 30 -sha256 \
        -subj "/CN=signet benchmark test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    chmod 600 "$d/ca.key"
    # The server dials the signer at 127.0.0.1, so the signer certificate needs that IP in its SAN.
    _notary_leaf "$d" notary-server serverAuth "DNS:localhost,IP:127.0.0.1"
    _notary_leaf "$d" notary-signer serverAuth "DNS:localhost,IP:127.0.0.1"
    _notary_leaf "$d" notary-server-client clientAuth ""
}

# _notary_start NAME LOGFILE COMMAND... : own process group, pid recorded
_notary_start() {
    local name=$1 log=$2; shift 2
    (
        # Close every descriptor above 2 the caller passed down (a pipe it reads to the end, say), so
        # the service never keeps it open.
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec setsid "$@" >>"$log" 2>&1 </dev/null
    ) &
    NOTARY_STACK_PIDS+=("$!")
    echo "$!" >"$NOTARY_STACK_DIR/$name.pid"
}

notary_stack_up() {
    NOTARY_STACK_DIR=$1
    local c=$NOTARY_STACK_DIR/certs server_port signer_port i
    mkdir -p "$NOTARY_STACK_DIR"
    _notary_certs "$c"
    server_port=$(_notary_free_port)
    signer_port=$(_notary_free_port)
    while [ "$signer_port" = "$server_port" ]; do signer_port=$(_notary_free_port); done
    cat >"$NOTARY_STACK_DIR/signer.json" <<JSON
{
  "server": { "grpc_addr": "127.0.0.1:$signer_port",
              "tls_cert_file": "$c/notary-signer.crt", "tls_key_file": "$c/notary-signer.key",
              "client_ca_file": "$c/ca.crt" },
  "logging": { "level": "error" },
  "storage": { "backend": "memory" }
}
JSON
    cat >"$NOTARY_STACK_DIR/server.json" <<JSON
{
  "server": { "http_addr": "127.0.0.1:$server_port",
              "tls_cert_file": "$c/notary-server.crt", "tls_key_file": "$c/notary-server.key" },
  "trust_service": { "type": "remote", "hostname": "127.0.0.1", "port": "$signer_port",
                     "tls_ca_file": "$c/ca.crt", "key_algorithm": "ecdsa",
                     "tls_client_cert": "$c/notary-server-client.crt",
                     "tls_client_key": "$c/notary-server-client.key" },
  "logging": { "level": "error" },
  "storage": { "backend": "memory" }
}
JSON
    NOTARY_CA=$c/ca.crt
    NOTARY_URL=https://127.0.0.1:$server_port
    _notary_start notary-signer "$NOTARY_STACK_DIR/signer.log" notary-signer -config "$NOTARY_STACK_DIR/signer.json"
    # The signer must accept the server's client certificate before the server starts (TLS 1.2: with 1.3
    # a rejected client certificate still completes the handshake).
    for ((i = 0; i < 100; i++)); do
        if echo | timeout 5 openssl s_client -tls1_2 -connect "127.0.0.1:$signer_port" -CAfile "$NOTARY_CA" \
            -cert "$c/notary-server-client.crt" -key "$c/notary-server-client.key" -alpn h2 \
            -verify_return_error -brief >/dev/null 2>&1; then break; fi
        sleep 0.2
    done
    _notary_start notary-server "$NOTARY_STACK_DIR/server.log" notary-server -config "$NOTARY_STACK_DIR/server.json"
    for ((i = 0; i < 150; i++)); do
        if curl -fsS -o /dev/null --cacert "$NOTARY_CA" "$NOTARY_URL/_notary_server/health" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "notary-server did not become healthy within 30 s; logs:" >&2
    tail -n 20 "$NOTARY_STACK_DIR/signer.log" "$NOTARY_STACK_DIR/server.log" >&2
    return 1
}

notary_stack_down() {
    local pid i
    for pid in "${NOTARY_STACK_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || continue
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    NOTARY_STACK_PIDS=()
}

# notary_stack_down_dir DIR : stops the processes whose pids a notary_stack_up in DIR recorded
notary_stack_down_dir() {
    local f pid i
    for f in "$1"/notary-server.pid "$1"/notary-signer.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        # Only a process that is still ours: its command line names this stack's config.
        if grep -q "$1" "/proc/$pid/cmdline" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
}
