/* An RSA-2048 key made with `openssl genrsa -traditional 2048` (PKCS#1
 * PEM), its public key as `openssl rsa -RSAPublicKey_out` writes it
 * (PKCS#1), the SubjectPublicKeyInfo DER `openssl rsa -pubout -outform
 * DER` gives, and `openssl dgst -sha256 -sign` of "abc" (RSA PKCS#1 v1.5
 * with SHA-256, deterministic): test data for sign.c. */
static const char RSA_PRIV_PEM[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpQIBAAKCAQEAnoQMoI7UALze1hCjmip+3ru4ZvTD2B6sh/qZYeRlsVzmmEc/\n"
    "tGWG+bhqle8xE8LIYYbIjx7Chsb4LFVcoQ5iny9+VQBLZQGDKOC3855TcG/C9Vbv\n"
    "wG7R4MLRZEQ8KhWezeg7IqEm2lrWm3gWyx5JMsvIoVoFRP0ke06HMVJWbwxewvwR\n"
    "gbcD1FqdxUsqVmMf9cRYTGFojdJHqHoAB5UfG96pjNlmlTdgPuiL6h/7dLV8f9SH\n"
    "4VaG4cUftBoUtT1DX1xpUrzmSg0459fSZCbFa06xSF8Ocf8VwgBR0dm5Hmo7zxL2\n"
    "waw4BzpWyaXreAS3ThUtvwDGZyM7P6nx0QkFyQIDAQABAoIBAAOPaSfb4JDRRr0K\n"
    "WKFB2eGeYIY4g2GKQG1bjKfTdzLXdWFVx8s8+QzmpLYyThfxU4ppeluNFE9lsMIs\n"
    "jBnYmMxz8X0qlDGWOwrFIMUUTmMMKSb/wMv06LH30nN1dJuskQmEV40A9bXVo8uh\n"
    "LZWcj0ILrDDmNKEGo4tSPMt8MRFyVCbobok8028S0UDsHJMz4c7x28cuqir8rLCv\n"
    "BvXgJkkT/ryLdjjwY7PbKHdU04L86bGfMHLVU5jsfnD2EevbGqbl54+TzQtZuxzU\n"
    "UvPBc72rFx7AJxTpqpiw1vs8akDlKIr/XRdyRS3j9t+C7VZZwkRQESTdEY1gP0gO\n"
    "E8+B3FUCgYEA06uIb7udZt5+8XTndJxogBRcc+CKqn8NDNBHgB9tOTyKO5IBv4X6\n"
    "3+mPRUtyTMXoH6v0lMOAH1sZcJNMhvBnr6kqCwy+8rPRVaPj2d6KDmaXKF9mb3dz\n"
    "N2rXeDTU0SlJOPOB5oR3udsNSGkkdOHkJguPlmc4gvhBt/xia50dj28CgYEAv7a1\n"
    "RgwmgXC94DAOztUW0ix7Tb2b6Gd8Y9PaHe/NA336YeWizERQn11Ts2LSbh70J+uw\n"
    "ATwpfKSUrLTz3yFhBQbPlSAbaPIOkIhJNPONeWgCPdyiIVyTxMsK5mCoWl3in/lS\n"
    "yMR21VwzF30lCH4ZChZwSCPKEcbZpzNGM98OokcCgYEAod0WZHsQDs4uPO6s4FuK\n"
    "/gaT/HjFEUQ+8oGDa9Kcb5yACLXKaG9IPVoZmV/sdBETRMT2L5ygqVm8xn2dk8Lb\n"
    "R1URNYn1qxsfBWJipwSqhgClrtXlO3AYx1QImX+tDpWHzOlJeMHr3FBKhAkDO+5R\n"
    "zVYh413jtSOq/cseaDSpmjkCgYEAnqn45qshpxkGnCdJ6hXjWDhmKBXXlYUoJnpr\n"
    "10DinJRDh4gEryeOzgXwQtNzsp29ldhyhuMitryDK1hrSOyYHg/f9txmsvk54pZY\n"
    "eBFlsefJiycxq4ix5znfoIC4dGmlKJ6wy+YFL1mqEzOIVbn+wSGG9b1g/EtlUQKX\n"
    "hFCEDPsCgYEArEeCI85v1VmMOrPVhsJRVFjaMtP3rC60+Z3Gzxsgfa2b8g56/m/0\n"
    "jmsGymUTv5jdyj8jRS1WHVRe75OFq8beyTqG2DdKTg8znI/jMslEWIrQai8HOKfg\n"
    "k25VRXpE2Dcd+rQC57MfUqK6lDbONtH9R5hJNAgOkeZ5W1TDwl9hqao=\n"
    "-----END RSA PRIVATE KEY-----\n";

static const char RSA_PUB_PEM[] =
    "-----BEGIN RSA PUBLIC KEY-----\n"
    "MIIBCgKCAQEAnoQMoI7UALze1hCjmip+3ru4ZvTD2B6sh/qZYeRlsVzmmEc/tGWG\n"
    "+bhqle8xE8LIYYbIjx7Chsb4LFVcoQ5iny9+VQBLZQGDKOC3855TcG/C9VbvwG7R\n"
    "4MLRZEQ8KhWezeg7IqEm2lrWm3gWyx5JMsvIoVoFRP0ke06HMVJWbwxewvwRgbcD\n"
    "1FqdxUsqVmMf9cRYTGFojdJHqHoAB5UfG96pjNlmlTdgPuiL6h/7dLV8f9SH4VaG\n"
    "4cUftBoUtT1DX1xpUrzmSg0459fSZCbFa06xSF8Ocf8VwgBR0dm5Hmo7zxL2waw4\n"
    "BzpWyaXreAS3ThUtvwDGZyM7P6nx0QkFyQIDAQAB\n"
    "-----END RSA PUBLIC KEY-----\n";

static const char RSA_SPKI_HEX[] =
    "30820122300d06092a864886f70d01010105000382010f003082010a02820101"
    "009e840ca08ed400bcded610a39a2a7edebbb866f4c3d81eac87fa9961e465b1"
    "5ce698473fb46586f9b86a95ef3113c2c86186c88f1ec286c6f82c555ca10e62"
    "9f2f7e55004b65018328e0b7f39e53706fc2f556efc06ed1e0c2d164443c2a15"
    "9ecde83b22a126da5ad69b7816cb1e4932cbc8a15a0544fd247b4e873152566f"
    "0c5ec2fc1181b703d45a9dc54b2a56631ff5c4584c61688dd247a87a0007951f"
    "1bdea98cd9669537603ee88bea1ffb74b57c7fd487e15686e1c51fb41a14b53d"
    "435f5c6952bce64a0d38e7d7d26426c56b4eb1485f0e71ff15c20051d1d9b91e"
    "6a3bcf12f6c1ac38073a56c9a5eb7804b74e152dbf00c667233b3fa9f1d10905"
    "c90203010001";

static const char RSA_SIG_ABC_HEX[] =
    "5294addd7dc683c746c6b6269e08e3e68beeb44821d4bdc06644a4a1e5ee010b"
    "788c6ba04b05dcaf90d057f926d31a9148eea2d45f40e67b0cbbede4e9ea4912"
    "29b9f2a88fad27cb0dd8a50b0e01d468b5817292eb7af2314f8a2baef2fc6466"
    "5844b993f3448d8e00a6c1173079a54b8912ebfbbc4ca31cfb7e7c920147d1fb"
    "c6556a299a207bc072ed550e0c587b178ed6868dfe739b09b7d4fd58d26c0cee"
    "61bc25d0eaf89992cf6111ca7f92e151b3aea7be4a683011dd74dd927576b36e"
    "f49c6dc97abb94dec6f3f0de7beba8809421b17929db009d2ec7dd4f2f2d4b4a"
    "46ed5945bcd4a35ee54fb8eefcc32cbaf702e202d20203f15e450b2307e4eec2";
