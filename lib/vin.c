/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/vin.h"

/*
 * Check digit, North America (49 CFR 565, the "check digit" section; the same computation
 * is used in China under GB 16735): letters transliterate to
 *   A B C D E F G H  J K L M N  P  R  S T U V W X Y Z
 *   1 2 3 4 5 6 7 8  1 2 3 4 5  7  9  2 3 4 5 6 7 8 9
 * (I, O, Q are not VIN characters; digits are their own value), each position is weighted
 *   8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2
 * and the sum mod 11 is the check digit, 10 written X. Position 9 (the check digit
 * itself) has weight 0.
 */
static const uint8_t weights[VIN_LENGTH] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};

/* -1 for anything that is not a VIN character. */
static int value_of(char c)
{
	/* clang-format off */
	static const int8_t letters[26] = {
	    /* A */ 1, 2, 3, 4, 5, 6, 7, 8, /* I */ -1, /* J */ 1, 2, 3, 4, 5,
	    /* O */ -1, /* P */ 7, /* Q */ -1, /* R */ 9, /* S */ 2, 3, 4, 5, 6, 7, 8, 9,
	};
	/* clang-format on */
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return letters[c - 'A'];
	return -1;
}

char vin_check_digit(const char *vin17)
{
	unsigned sum = 0;

	for (unsigned i = 0; i < VIN_LENGTH; i++) {
		int v = value_of(vin17[i]);
		if (v < 0 && i != 8)
			return 0;
		if (i != 8)
			sum += (unsigned)v * weights[i];
	}
	sum %= 11;
	return sum == 10 ? 'X' : (char)('0' + sum);
}

/*
 * Model year codes, position 10 (49 CFR 565, model year table; ISO 3779 leaves position 10
 * to the maker but the codes are used worldwide): A..Y without I, O, Q, U, Z, then 1..9 —
 * 30 codes, A = 1980 and again 2010.
 */
int vin_model_year_codes(char c, int ret[2])
{
	static const char codes[] = "ABCDEFGHJKLMNPRSTVWXY123456789";
	const char *p = c ? strchr(codes, c) : NULL;

	if (!p)
		return -EINVAL;
	ret[0] = 1980 + (int)(p - codes);
	ret[1] = ret[0] + 30;
	return 0;
}

/*
 * World Manufacturer Identifiers, ISO 3780: a selection of the WMIs of passenger-car and
 * light-truck makers that a body diagnostic tool meets. WMIs are assigned by SAE
 * International for NHTSA and by national bodies elsewhere; the list of assignments is
 * public in NHTSA's vPIC database (https://vpic.nhtsa.dot.gov/, "Manufacturer / WMI"
 * decoding) and summarised in the Wikipedia article "Vehicle identification number",
 * section "World manufacturer identifier"; entries were cross-checked against the
 * BSD-3-Clause dictionary of the vininfo project (github.com/idlesign/vininfo,
 * src/vininfo/dicts/wmi.py). Two-character rows cover a whole block of a maker's WMIs.
 * `make` is the brand written as a profile's `make` word; `group` the maker whose
 * diagnostic architecture the brand shares. Sorted by wmi (strcmp order) for the
 * binary search below.
 */
static const struct vin_maker makers[] = {
    {"19U", "Acura", "acura", "honda"},
    {"19X", "Honda", "honda", "honda"},
    {"1B3", "Dodge", "dodge", "fca"},
    {"1B7", "Dodge", "dodge", "fca"},
    {"1C3", "Chrysler", "chrysler", "fca"},
    {"1C4", "Chrysler / Dodge / Jeep", "chrysler", "fca"},
    {"1C6", "Ram", "ram", "fca"},
    {"1D7", "Dodge", "dodge", "fca"},
    {"1FA", "Ford", "ford", "ford"},
    {"1FD", "Ford", "ford", "ford"},
    {"1FM", "Ford", "ford", "ford"},
    {"1FT", "Ford", "ford", "ford"},
    {"1G", "General Motors", "gm", "gm"},
    {"1G1", "Chevrolet", "chevrolet", "gm"},
    {"1G2", "Pontiac", "pontiac", "gm"},
    {"1G3", "Oldsmobile", "oldsmobile", "gm"},
    {"1G4", "Buick", "buick", "gm"},
    {"1G6", "Cadillac", "cadillac", "gm"},
    {"1G8", "Saturn", "saturn", "gm"},
    {"1GC", "Chevrolet", "chevrolet", "gm"},
    {"1GK", "GMC", "gmc", "gm"},
    {"1GN", "Chevrolet", "chevrolet", "gm"},
    {"1GT", "GMC", "gmc", "gm"},
    {"1GY", "Cadillac", "cadillac", "gm"},
    {"1HG", "Honda", "honda", "honda"},
    {"1J4", "Jeep", "jeep", "fca"},
    {"1J8", "Jeep", "jeep", "fca"},
    {"1LN", "Lincoln", "lincoln", "ford"},
    {"1ME", "Mercury", "mercury", "ford"},
    {"1N4", "Nissan", "nissan", "nissan"},
    {"1N6", "Nissan", "nissan", "nissan"},
    {"1P3", "Plymouth", "plymouth", "fca"},
    {"1VW", "Volkswagen", "volkswagen", "vw"},
    {"1YV", "Mazda", "mazda", "mazda"},
    {"2C3", "Chrysler", "chrysler", "fca"},
    {"2C4", "Chrysler", "chrysler", "fca"},
    {"2FA", "Ford", "ford", "ford"},
    {"2FM", "Ford", "ford", "ford"},
    {"2FT", "Ford", "ford", "ford"},
    {"2G", "General Motors", "gm", "gm"},
    {"2G1", "Chevrolet", "chevrolet", "gm"},
    {"2G2", "Pontiac", "pontiac", "gm"},
    {"2G4", "Buick", "buick", "gm"},
    {"2GN", "Chevrolet", "chevrolet", "gm"},
    {"2GT", "GMC", "gmc", "gm"},
    {"2HG", "Honda", "honda", "honda"},
    {"2HK", "Honda", "honda", "honda"},
    {"2HN", "Acura", "acura", "honda"},
    {"2LM", "Lincoln", "lincoln", "ford"},
    {"2T1", "Toyota", "toyota", "toyota"},
    {"2T2", "Lexus", "lexus", "toyota"},
    {"2T3", "Toyota", "toyota", "toyota"},
    {"3C4", "Chrysler / Dodge", "chrysler", "fca"},
    {"3C6", "Ram", "ram", "fca"},
    {"3FA", "Ford", "ford", "ford"},
    {"3FM", "Ford", "ford", "ford"},
    {"3G", "General Motors", "gm", "gm"},
    {"3G1", "Chevrolet", "chevrolet", "gm"},
    {"3GN", "Chevrolet", "chevrolet", "gm"},
    {"3GT", "GMC", "gmc", "gm"},
    {"3HG", "Honda", "honda", "honda"},
    {"3KP", "Kia", "kia", "hyundai"},
    {"3LN", "Lincoln", "lincoln", "ford"},
    {"3MZ", "Mazda", "mazda", "mazda"},
    {"3N1", "Nissan", "nissan", "nissan"},
    {"3TM", "Toyota", "toyota", "toyota"},
    {"3VV", "Volkswagen", "volkswagen", "vw"},
    {"3VW", "Volkswagen", "volkswagen", "vw"},
    {"4A3", "Mitsubishi", "mitsubishi", "mitsubishi"},
    {"4A4", "Mitsubishi", "mitsubishi", "mitsubishi"},
    {"4JG", "Mercedes-Benz", "mercedes", "mercedes"},
    {"4S3", "Subaru", "subaru", "subaru"},
    {"4S4", "Subaru", "subaru", "subaru"},
    {"4T1", "Toyota", "toyota", "toyota"},
    {"4T3", "Toyota", "toyota", "toyota"},
    {"4US", "BMW", "bmw", "bmw"},
    {"55S", "Mercedes-Benz", "mercedes", "mercedes"},
    {"58A", "Lexus", "lexus", "toyota"},
    {"5FN", "Honda", "honda", "honda"},
    {"5GA", "Buick", "buick", "gm"},
    {"5GZ", "Saturn", "saturn", "gm"},
    {"5J6", "Honda", "honda", "honda"},
    {"5J8", "Acura", "acura", "honda"},
    {"5LM", "Lincoln", "lincoln", "ford"},
    {"5N1", "Nissan", "nissan", "nissan"},
    {"5N3", "Infiniti", "infiniti", "nissan"},
    {"5NM", "Hyundai", "hyundai", "hyundai"},
    {"5NP", "Hyundai", "hyundai", "hyundai"},
    {"5TD", "Toyota", "toyota", "toyota"},
    {"5TF", "Toyota", "toyota", "toyota"},
    {"5UX", "BMW", "bmw", "bmw"},
    {"5XX", "Kia", "kia", "hyundai"},
    {"5XY", "Kia", "kia", "hyundai"},
    {"5YJ", "Tesla", "tesla", "tesla"},
    {"5YM", "BMW", "bmw", "bmw"},
    {"6FP", "Ford", "ford", "ford"},
    {"6G1", "Holden / Chevrolet", "holden", "gm"},
    {"6H8", "Holden", "holden", "gm"},
    {"6T1", "Toyota", "toyota", "toyota"},
    {"7SA", "Tesla", "tesla", "tesla"},
    {"8AF", "Ford", "ford", "ford"},
    {"8AG", "Chevrolet", "chevrolet", "gm"},
    {"8AJ", "Toyota", "toyota", "toyota"},
    {"935", "Citroen", "citroen", "psa"},
    {"936", "Peugeot", "peugeot", "psa"},
    {"93H", "Honda", "honda", "honda"},
    {"93Y", "Renault", "renault", "renault"},
    {"9BD", "Fiat", "fiat", "fca"},
    {"9BF", "Ford", "ford", "ford"},
    {"9BG", "Chevrolet", "chevrolet", "gm"},
    {"9BR", "Toyota", "toyota", "toyota"},
    {"9BW", "Volkswagen", "volkswagen", "vw"},
    {"AAV", "Volkswagen", "volkswagen", "vw"},
    {"AHT", "Toyota", "toyota", "toyota"},
    {"JA3", "Mitsubishi", "mitsubishi", "mitsubishi"},
    {"JA4", "Mitsubishi", "mitsubishi", "mitsubishi"},
    {"JF1", "Subaru", "subaru", "subaru"},
    {"JF2", "Subaru", "subaru", "subaru"},
    {"JH4", "Acura", "acura", "honda"},
    {"JHL", "Honda", "honda", "honda"},
    {"JHM", "Honda", "honda", "honda"},
    {"JM1", "Mazda", "mazda", "mazda"},
    {"JM3", "Mazda", "mazda", "mazda"},
    {"JMB", "Mitsubishi", "mitsubishi", "mitsubishi"},
    {"JMZ", "Mazda", "mazda", "mazda"},
    {"JN1", "Nissan", "nissan", "nissan"},
    {"JN8", "Nissan", "nissan", "nissan"},
    {"JNK", "Infiniti", "infiniti", "nissan"},
    {"JNR", "Infiniti", "infiniti", "nissan"},
    {"JS2", "Suzuki", "suzuki", "suzuki"},
    {"JS3", "Suzuki", "suzuki", "suzuki"},
    {"JT", "Toyota", "toyota", "toyota"},
    {"JTH", "Lexus", "lexus", "toyota"},
    {"JTJ", "Lexus", "lexus", "toyota"},
    {"KL1", "Chevrolet", "chevrolet", "gm"},
    {"KL4", "Buick", "buick", "gm"},
    {"KL7", "Chevrolet", "chevrolet", "gm"},
    {"KM8", "Hyundai", "hyundai", "hyundai"},
    {"KMH", "Hyundai", "hyundai", "hyundai"},
    {"KMT", "Genesis", "genesis", "hyundai"},
    {"KNA", "Kia", "kia", "hyundai"},
    {"KND", "Kia", "kia", "hyundai"},
    {"KNM", "Renault Samsung", "renault", "renault"},
    {"KPT", "SsangYong", "ssangyong", "ssangyong"},
    {"L6T", "Geely", "geely", "geely"},
    {"LBV", "BMW Brilliance", "bmw", "bmw"},
    {"LE4", "Beijing Benz", "mercedes", "mercedes"},
    {"LFM", "FAW Toyota", "toyota", "toyota"},
    {"LFV", "FAW-Volkswagen", "volkswagen", "vw"},
    {"LGB", "Dongfeng Nissan", "nissan", "nissan"},
    {"LGW", "Great Wall", "greatwall", "greatwall"},
    {"LGX", "BYD", "byd", "byd"},
    {"LHG", "Guangzhou Honda", "honda", "honda"},
    {"LRW", "Tesla", "tesla", "tesla"},
    {"LSG", "SAIC General Motors", "gm", "gm"},
    {"LSJ", "SAIC MG", "mg", "saic"},
    {"LSV", "SAIC Volkswagen", "volkswagen", "vw"},
    {"LVG", "GAC Toyota", "toyota", "toyota"},
    {"LVH", "Dongfeng Honda", "honda", "honda"},
    {"LVS", "Changan Ford", "ford", "ford"},
    {"LVV", "Chery", "chery", "chery"},
    {"LYV", "Volvo", "volvo", "volvo"},
    {"MA1", "Mahindra", "mahindra", "mahindra"},
    {"MA3", "Maruti Suzuki", "suzuki", "suzuki"},
    {"MAJ", "Ford", "ford", "ford"},
    {"MAL", "Hyundai", "hyundai", "hyundai"},
    {"MAT", "Tata", "tata", "tata"},
    {"MNB", "Ford", "ford", "ford"},
    {"MR0", "Toyota", "toyota", "toyota"},
    {"MRH", "Honda", "honda", "honda"},
    {"NLH", "Hyundai", "hyundai", "hyundai"},
    {"NM0", "Ford Otosan", "ford", "ford"},
    {"NMT", "Toyota", "toyota", "toyota"},
    {"PL1", "Proton", "proton", "proton"},
    {"SAJ", "Jaguar", "jaguar", "jlr"},
    {"SAL", "Land Rover", "landrover", "jlr"},
    {"SB1", "Toyota", "toyota", "toyota"},
    {"SBM", "McLaren", "mclaren", "mclaren"},
    {"SCA", "Rolls-Royce", "rollsroyce", "bmw"},
    {"SCB", "Bentley", "bentley", "vw"},
    {"SCC", "Lotus", "lotus", "lotus"},
    {"SCF", "Aston Martin", "astonmartin", "astonmartin"},
    {"SFA", "Ford", "ford", "ford"},
    {"SHH", "Honda", "honda", "honda"},
    {"SHS", "Honda", "honda", "honda"},
    {"SJN", "Nissan", "nissan", "nissan"},
    {"TMA", "Hyundai", "hyundai", "hyundai"},
    {"TMB", "Skoda", "skoda", "vw"},
    {"TRU", "Audi", "audi", "vw"},
    {"TSM", "Suzuki", "suzuki", "suzuki"},
    {"U5Y", "Kia", "kia", "hyundai"},
    {"U6Y", "Kia", "kia", "hyundai"},
    {"UU1", "Dacia", "dacia", "renault"},
    {"VF1", "Renault", "renault", "renault"},
    {"VF3", "Peugeot", "peugeot", "psa"},
    {"VF7", "Citroen", "citroen", "psa"},
    {"VF9", "Bugatti", "bugatti", "vw"},
    {"VNK", "Toyota", "toyota", "toyota"},
    {"VR1", "DS Automobiles", "ds", "psa"},
    {"VR3", "Peugeot", "peugeot", "psa"},
    {"VR7", "Citroen", "citroen", "psa"},
    {"VS6", "Ford", "ford", "ford"},
    {"VSK", "Nissan", "nissan", "nissan"},
    {"VSS", "SEAT", "seat", "vw"},
    {"W0L", "Opel / Vauxhall", "opel", "opel"},
    {"W0V", "Opel / Vauxhall", "opel", "opel"},
    {"W1K", "Mercedes-Benz", "mercedes", "mercedes"},
    {"W1N", "Mercedes-Benz", "mercedes", "mercedes"},
    {"W1V", "Mercedes-Benz", "mercedes", "mercedes"},
    {"WA1", "Audi", "audi", "vw"},
    {"WAU", "Audi", "audi", "vw"},
    {"WBA", "BMW", "bmw", "bmw"},
    {"WBS", "BMW M", "bmw", "bmw"},
    {"WBX", "BMW", "bmw", "bmw"},
    {"WBY", "BMW i", "bmw", "bmw"},
    {"WDB", "Mercedes-Benz", "mercedes", "mercedes"},
    {"WDC", "Mercedes-Benz", "mercedes", "mercedes"},
    {"WDD", "Mercedes-Benz", "mercedes", "mercedes"},
    {"WDF", "Mercedes-Benz", "mercedes", "mercedes"},
    {"WF0", "Ford", "ford", "ford"},
    {"WMA", "MAN", "man", "man"},
    {"WME", "Smart", "smart", "mercedes"},
    {"WMW", "MINI", "mini", "bmw"},
    {"WP0", "Porsche", "porsche", "porsche"},
    {"WP1", "Porsche", "porsche", "porsche"},
    {"WUA", "Audi", "audi", "vw"},
    {"WV1", "Volkswagen Commercial Vehicles", "volkswagen", "vw"},
    {"WV2", "Volkswagen Commercial Vehicles", "volkswagen", "vw"},
    {"WVG", "Volkswagen", "volkswagen", "vw"},
    {"WVW", "Volkswagen", "volkswagen", "vw"},
    {"XP7", "Tesla", "tesla", "tesla"},
    {"XTA", "Lada", "lada", "avtovaz"},
    {"YS3", "Saab", "saab", "saab"},
    {"YV1", "Volvo", "volvo", "volvo"},
    {"YV4", "Volvo", "volvo", "volvo"},
    {"ZAM", "Maserati", "maserati", "fca"},
    {"ZAR", "Alfa Romeo", "alfaromeo", "fca"},
    {"ZFA", "Fiat", "fiat", "fca"},
    {"ZFF", "Ferrari", "ferrari", "ferrari"},
    {"ZHW", "Lamborghini", "lamborghini", "vw"},
    {"ZLA", "Lancia", "lancia", "fca"},
};

static const struct vin_maker *find(const char *key)
{
	size_t lo = 0, hi = sizeof(makers) / sizeof(makers[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(makers[mid].wmi, key);
		if (c == 0)
			return &makers[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct vin_maker *vin_maker_at(size_t i)
{
	return i < sizeof(makers) / sizeof(makers[0]) ? &makers[i] : NULL;
}

const struct vin_maker *vin_maker_lookup(const char *wmi3)
{
	char k[4];
	const struct vin_maker *m;

	if (!wmi3 || !wmi3[0] || !wmi3[1] || !wmi3[2])
		return NULL;
	memcpy(k, wmi3, 3);
	k[3] = '\0';
	m = find(k);
	if (m)
		return m;
	k[2] = '\0';
	return find(k);
}

static enum vin_region region_of(char c)
{
	if (c >= 'A' && c <= 'H')
		return VIN_REGION_AFRICA;
	if (c >= 'J' && c <= 'R')
		return VIN_REGION_ASIA;
	if (c >= 'S' && c <= 'Z')
		return VIN_REGION_EUROPE;
	if (c >= '1' && c <= '5')
		return VIN_REGION_NORTH_AMERICA;
	if (c == '6' || c == '7')
		return VIN_REGION_OCEANIA;
	if (c == '8' || c == '9' || c == '0')
		return VIN_REGION_SOUTH_AMERICA;
	return VIN_REGION_UNKNOWN;
}

static int refuse(struct vin_info *v, enum vin_problem p, unsigned pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct vin_info *v, enum vin_problem p, unsigned pos, const char *fmt, ...)
{
	va_list ap;

	v->problem = p;
	v->position = pos;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int vin_parse(const char *s, size_t len, struct vin_info *ret)
{
	struct vin_info v = {.problem = VIN_OK};
	bool all_same = true;

	if (len != VIN_LENGTH) {
		refuse(&v, VIN_BAD_LENGTH, 0, "%zu characters, a VIN has 17", len);
		*ret = v;
		return -EINVAL;
	}
	for (unsigned i = 0; i < VIN_LENGTH; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != (unsigned char)s[0])
			all_same = false;
		if (value_of((char)c) < 0) {
			if (c >= 'a' && c <= 'z')
				refuse(&v, VIN_BAD_CHAR, i + 1, "lower-case '%c' at position %u", c,
				       i + 1);
			else if (c == 'I' || c == 'O' || c == 'Q')
				refuse(&v, VIN_BAD_CHAR, i + 1,
				       "'%c' at position %u (I, O and Q are never used)", c, i + 1);
			else if (c >= 0x20 && c < 0x7F)
				refuse(&v, VIN_BAD_CHAR, i + 1,
				       "'%c' at position %u is not a VIN character", c, i + 1);
			else
				refuse(&v, VIN_BAD_CHAR, i + 1, "byte 0x%02X at position %u", c,
				       i + 1);
			if (all_same) {
				bool filler = true;
				for (unsigned k = 1; k < VIN_LENGTH; k++)
					filler = filler && s[k] == s[0];
				if (filler)
					refuse(&v, VIN_FILLER, 1,
					       "17 times byte 0x%02X: no VIN programmed", c);
			}
			*ret = v;
			return -EINVAL;
		}
	}
	memcpy(v.vin, s, VIN_LENGTH);
	memcpy(v.wmi, s, 3);
	v.region = region_of(s[0]);
	v.maker = vin_maker_lookup(v.wmi);
	v.check_digit = vin_check_digit(s);
	if (all_same) {
		refuse(&v, VIN_FILLER, 1, "17 times '%c': no VIN programmed", s[0]);
		*ret = v;
		return -EINVAL;
	}
	bool required = v.region == VIN_REGION_NORTH_AMERICA || s[0] == 'L';
	if (s[8] == v.check_digit)
		v.check = VIN_CHECK_OK;
	else
		v.check = required ? VIN_CHECK_MISMATCH : VIN_CHECK_NOT_USED;
	if (vin_model_year_codes(s[9], v.model_years) < 0)
		v.model_years[0] = v.model_years[1] = 0;
	if (v.region == VIN_REGION_NORTH_AMERICA) {
		if (!v.model_years[0]) {
			refuse(&v, VIN_BAD_MODEL_YEAR, 10,
			       "'%c' at position 10 is no model year code", s[9]);
			*ret = v;
			return -EINVAL;
		}
		/* North American convention for cars, MPVs and light trucks since model year
		 * 2010: a letter at position 7 means the 2010-2039 cycle. */
		v.model_year = s[6] >= 'A' && s[6] <= 'Z' ? v.model_years[1] : v.model_years[0];
	}
	if (v.check == VIN_CHECK_MISMATCH) {
		refuse(&v, VIN_BAD_CHECK_DIGIT, 9, "check digit '%c' at position 9, computed '%c'",
		       s[8], v.check_digit);
		*ret = v;
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

const char *vin_problem_name(enum vin_problem p)
{
	switch (p) {
	case VIN_OK:
		return "OK";
	case VIN_BAD_LENGTH:
		return "wrong length";
	case VIN_BAD_CHAR:
		return "bad character";
	case VIN_FILLER:
		return "not programmed";
	case VIN_BAD_CHECK_DIGIT:
		return "wrong check digit";
	case VIN_BAD_MODEL_YEAR:
		return "bad model year";
	case VIN_PROBLEM_MAX:
		break;
	}
	return "?";
}

const char *vin_region_name(enum vin_region r)
{
	switch (r) {
	case VIN_REGION_AFRICA:
		return "Africa";
	case VIN_REGION_ASIA:
		return "Asia";
	case VIN_REGION_EUROPE:
		return "Europe";
	case VIN_REGION_NORTH_AMERICA:
		return "North America";
	case VIN_REGION_OCEANIA:
		return "Oceania";
	case VIN_REGION_SOUTH_AMERICA:
		return "South America";
	case VIN_REGION_UNKNOWN:
	case VIN_REGION_MAX:
		break;
	}
	return "unknown";
}

const char *vin_check_name(enum vin_check c)
{
	switch (c) {
	case VIN_CHECK_OK:
		return "ok";
	case VIN_CHECK_MISMATCH:
		return "mismatch";
	case VIN_CHECK_NOT_USED:
		return "not used";
	case VIN_CHECK_MAX:
		break;
	}
	return "?";
}
