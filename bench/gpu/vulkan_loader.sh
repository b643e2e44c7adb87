# vulkan_loader.sh — sourced by the bench/gpu scripts on the NVIDIA machine, from the repository
# root: unpacks the Vulkan loader that make_bundle.sh fetched into .gl/ over / (as the device
# README prescribes; the machine has the NVIDIA driver but no loader) and points the loader at
# NVIDIA's ICD.
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
