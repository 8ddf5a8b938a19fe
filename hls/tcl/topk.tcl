# Vitis HLS flow for kernel 'topk' (top topk); run from hls/: vitis_hls -f tcl/topk.tcl
source tcl/common.tcl
hetsim_hls topk topk
exit
