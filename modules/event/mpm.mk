SRC_event := modules/event/event.c modules/event/event_gate.c
modules/event/mod_mpm_loom_event.so: $(SRC_event:.c=.o) $(CORE_LIB)
