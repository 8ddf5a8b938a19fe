# Vitis HLS flow for kernel 'inner_product_topk' (top inner_product_topk); run from hls/: vitis_hls -f tcl/inner_product_topk.tcl
source tcl/common.tcl
hetsim_hls inner_product_topk inner_product_topk
exit
