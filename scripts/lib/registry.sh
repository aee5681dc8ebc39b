# Starts and stops a throw-away docker-registry (distribution 2.8) on 127.0.0.1 (sourced).
# signet_registry_start DIR  → sets SIGNET_REGISTRY (127.0.0.1:PORT), SIGNET_REGISTRY_PID, SIGNET_REGISTRY_STORAGE
# signet_registry_stop

signet_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

signet_registry_start() {
    local dir="$1"
    mkdir -p "$dir/storage"
    local port
    port=$(signet_free_port)
    cat > "$dir/config.yml" <<YAML
version: 0.1
log: { level: error, formatter: text }
storage:
  filesystem: { rootdirectory: $dir/storage }
  delete: { enabled: true }
  maintenance: { uploadpurging: { enabled: false } }
http:
  addr: 127.0.0.1:$port
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
YAML
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    SIGNET_REGISTRY_PID=$!
    SIGNET_REGISTRY="127.0.0.1:$port"
    SIGNET_REGISTRY_STORAGE="$dir/storage/docker/registry/v2"
    for _ in $(seq 100); do
        if curl -fsS -o /dev/null "http://$SIGNET_REGISTRY/v2/" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "docker-registry did not start; its log:" >&2
    cat "$dir/registry.log" >&2
    return 1
}

signet_registry_stop() {
    if [ -n "${SIGNET_REGISTRY_PID:-}" ]; then
        kill "$SIGNET_REGISTRY_PID" 2>/dev/null || true
        wait "$SIGNET_REGISTRY_PID" 2>/dev/null || true
        SIGNET_REGISTRY_PID=""
    fi
}
