# Vitis HLS flow for kernel 'bm25' (top bm25); run from hls/: vitis_hls -f tcl/bm25.tcl
source tcl/common.tcl
hetsim_hls bm25 bm25
exit
