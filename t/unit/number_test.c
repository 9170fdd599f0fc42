/* Directive numbers are whole numbers or errors (modules/core/number.c). */
#include "unit.h"
#include "../../modules/core/number.c"

UNIT_TEST(whole_numbers_parse)
{
    int v = 0;

    UNIT_EQ(loom_cfg_parse_int("150", &v), 0);
    UNIT_EQ(v, 150);
    UNIT_EQ(loom_cfg_parse_int("-4", &v), 0);
    UNIT_EQ(v, -4);
    UNIT_EQ(loom_cfg_parse_int("2147483647", &v), 0);
    UNIT_EQ(v, 2147483647);
}

UNIT_TEST(junk_is_refused_not_read_as_zero)
{
    int v = 7;

    UNIT_EQ(loom_cfg_parse_int("abc", &v), -1);
    UNIT_EQ(loom_cfg_parse_int("12abc", &v), -1);
    UNIT_EQ(loom_cfg_parse_int("1.5", &v), -1);
    UNIT_EQ(loom_cfg_parse_int("", &v), -1);
    UNIT_EQ(loom_cfg_parse_int(NULL, &v), -1);
    UNIT_EQ(v, 7);                      /* untouched on error */
}

UNIT_TEST(beyond_int_is_refused)
{
    int v;

    UNIT_EQ(loom_cfg_parse_int("2147483648", &v), -1);
    UNIT_EQ(loom_cfg_parse_int("-2147483649", &v), -1);
    UNIT_EQ(loom_cfg_parse_int("99999999999999999999", &v), -1);
}
