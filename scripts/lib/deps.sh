# Shared dependency installation for Signet's scripts (sourced, not executed).
# Debian packages are installed only when missing; apt-get update runs at most once.

SIGNET_BUILD_PACKAGES="libsodium-dev libssl-dev libcurl4-openssl-dev pkg-config"
SIGNET_TEST_PACKAGES="openssl python3 python3-pip python3-venv curl docker-registry skopeo apache2-utils python3-cryptography notary faketime"
SIGNET_PYTHON_PACKAGES="tuf==7.0.1 securesystemslib[crypto]==1.3.1"

_signet_apt_updated=0
signet_apt_install() {
    local missing=()
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Debian packages: ${missing[*]}" >&2
    if [ "$_signet_apt_updated" -eq 0 ]; then
        $sudo apt-get update -qq
        _signet_apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A private virtual environment for the Python oracles (python-tuf, securesystemslib), so that the
# system's Python is never modified. Exported as SIGNET_PYTHON for the tests.
signet_python_env() {
    local venv="${SIGNET_VENV:-$PWD/.build-venv}"
    if [ ! -x "$venv/bin/python3" ]; then
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python3" -c "import tuf, securesystemslib" 2>/dev/null; then
        echo "installing Python test oracles: $SIGNET_PYTHON_PACKAGES" >&2
        "$venv/bin/python3" -m pip install -q --disable-pip-version-check $SIGNET_PYTHON_PACKAGES
    fi
    export SIGNET_PYTHON="$venv/bin/python3"
}

signet_install_build_deps() {
    signet_apt_install $SIGNET_BUILD_PACKAGES
}

signet_install_test_deps() {
    signet_apt_install $SIGNET_BUILD_PACKAGES $SIGNET_TEST_PACKAGES
    signet_python_env
}
