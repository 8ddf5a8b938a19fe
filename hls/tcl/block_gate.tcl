# Vitis HLS flow for kernel 'block_gate' (top block_gate); run from hls/: vitis_hls -f tcl/block_gate.tcl
source tcl/common.tcl
hetsim_hls block_gate block_gate
exit
