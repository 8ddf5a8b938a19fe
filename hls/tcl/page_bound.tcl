# Vitis HLS flow for kernel 'page_bound' (top page_bound); run from hls/: vitis_hls -f tcl/page_bound.tcl
source tcl/common.tcl
hetsim_hls page_bound page_bound
exit
