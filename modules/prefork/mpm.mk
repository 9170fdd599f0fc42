SRC_prefork := modules/prefork/prefork.c modules/prefork/prefork_park.c modules/prefork/prefork_pass.c
modules/prefork/mod_mpm_loom_prefork.so: $(SRC_prefork:.c=.o) $(CORE_LIB)
