# Vitis HLS flow for kernel 'engram_gather' (top engram_gather); run from hls/: vitis_hls -f tcl/engram_gather.tcl
source tcl/common.tcl
hetsim_hls engram_gather engram_gather
exit
