/** Keys an attacker (or a careless target) might hand the CMDB: each must be dropped before any request. */
export const INJECTION_CORPUS = [
  'web01^ORname!=x', 'web01^NQsys_id!=0', '10.0.0.1^ORip_addressISNOTEMPTY', 'name=web01', 'web01=', '^', '^OR', '^NQ',
  'web01%5EORname%3Dx', 'web01%5e', 'web01\nname=x', 'web01\r\n^NQ', 'web01\u0000', 'web01 ^OR name=x',
  'web01\uFF3EORname\uFF1Dx', 'web01\u02C4NQ', 'wеb01.example.com' /* Cyrillic е */, 'web01\u2038', 'ｗｅｂ０１',
  'https://web01^NQ.example.com/', 'https://user:pw@web01.example.com/', 'web01.example.com/path', '10.0.0.0/24', '2001:db8::/32',
  'free text target', '', 'a'.repeat(300), 'fe80::1%eth0', '10.1', '0x7f.0.0.1', 'web01:99999', 'web-.example.com', '-web.example.com',
];
