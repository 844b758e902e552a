// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * A program built the way a user builds one against the installed
 * libdrvops (tests/install/check.sh): headers from <drvops/...>, flags from
 * pkg-config, the shared library. It lists the devices with their
 * interfaces (none on a host without drvops is fine) and checks a GUID
 * round trip, so that linking and running are both exercised.
 */
#include <stdio.h>
#include <string.h>

#include <drvops/drvops.h>
#include <drvops/hfictx.h>

int main(void)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	char buf[DRVOPS_GUID_STRLEN];
	uint64_t guid = 0;
	int n, i;

	if (drvops_parse_guid("0011:7500:0000:0001", &guid) ||
	    guid != 0x0011750000000001ull ||
	    strcmp(drvops_format_guid(guid, buf), "0011:7500:0000:0001")) {
		fprintf(stderr, "GUID round trip failed\n");
		return 1;
	}
	n = drvops_list_devices(devs, DRVOPS_MAX_DEVICES);
	if (n < 0) {
		fprintf(stderr, "listing devices: %s\n", strerror(-n));
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct drvops_interface_entry e[16];
		int k = drvops_sysfs_interfaces(&devs[i], e, 16, NULL);

		printf("%s: %d interface(s)\n", devs[i].ibdev, k < 0 ? 0 : k);
	}
	printf("example: %d device(s), sdma.opa uapi %s\n", n,
	       DRVOPS_HFI_NAME);
	return 0;
}
