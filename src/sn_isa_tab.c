/* One level's table of kernel entry points (see sn_isa_funcs.h); compiled once
 * per level with SN_ISA_SUFFIX and SN_ISA_TAB set by CMake. */
#include "sn_isa_clone.h"
#include "sn_isa_funcs.h"

#ifdef SN_ISA_TAB
#define SN_ISA_INIT_R(ret, name, params, args, which) name,
#define SN_ISA_INIT_V(name, params, args, which) name,
const sn_isa_table SN_ISA_TAB = {SN_ISA_FUNCS(SN_ISA_INIT_R, SN_ISA_INIT_V)};
#endif
