# common.tcl -- shared Vitis HLS flow for the hetsim kernels (sourced by tcl/<kernel>.tcl).
#
# Run from the hls/ directory:   vitis_hls -f tcl/<kernel>.tcl
# Steps: C simulation (the same testbench as `make csim`), C synthesis, C/RTL co-simulation and
# export of a Vitis kernel object (.xo) for `v++ --link --config link/u55c.cfg`.
# Target: Alveo U55C part xcu55c-fsvh2892-2L-e, 3.33 ns clock (300 MHz platform kernel clock).
# Set HETSIM_SKIP_COSIM=1 in the environment to skip co-simulation (it runs the full testbench
# in RTL simulation, which can take hours for the DSA indexer).
#
# Outputs: hls/build/hls_<top>/solution1/syn/report/csynth.xml  (ingest with
# hetsim.ingest.parse_csynth) and hls/build/hls_<top>/solution1/impl/export.xo.

proc hetsim_hls {kernel top} {
    set cflags "-std=c++14 -I[pwd]/include"
    open_project -reset build/hls_$top
    set_top $top
    add_files src/$kernel.cpp -cflags $cflags
    add_files -tb tb/tb_$kernel.cpp -cflags "$cflags -I[pwd]/tb"
    open_solution -reset solution1 -flow_target vitis
    set_part xcu55c-fsvh2892-2L-e
    create_clock -period 3.33 -name default
    config_interface -m_axi_addr64
    csim_design
    csynth_design
    if {![info exists ::env(HETSIM_SKIP_COSIM)]} {
        cosim_design
    }
    export_design -format xo -output build/hls_$top/solution1/impl/export.xo
    close_project
}
