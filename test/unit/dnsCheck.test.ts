import { canonicalIp, checkPointsAtGateway, servedCheckAddresses } from '../../src/dns/resolution';

/** The DNS pre-check against a gateway's public frontends (IPv4, and IPv6 on a dual-stack gateway). */
describe('a hostname points at the gateway', () => {
  const dualStack = ['20.1.2.3', '2603:1030:20c:3::3ef'];
  const answer = (ipv4: string[], ipv6: string[] = []): { chain: string[]; ipv4: string[]; ipv6: string[] } => ({ chain: ['www.example.com'], ipv4, ipv6 });

  it('passes with only the A record of a dual-stack gateway, and with both', () => {
    expect(() => checkPointsAtGateway('www.example.com', answer(['20.1.2.3']), dualStack)).not.toThrow();
    expect(() => checkPointsAtGateway('www.example.com', answer(['20.1.2.3'], ['2603:1030:20c:3::3ef']), dualStack)).not.toThrow();
  });

  it('compares IPv6 addresses, not their spelling', () => {
    expect(canonicalIp('2603:1030:020C:0003:0000:0000:0000:03EF')).toBe('2603:1030:20c:3::3ef');
    expect(canonicalIp('20.1.2.3')).toBe('20.1.2.3');
    expect(() => checkPointsAtGateway('www.example.com', answer(['20.1.2.3'], ['2603:1030:20c:3:0:0:0:3ef']), ['20.1.2.3', '2603:1030:020C:3::03EF'])).not.toThrow();
  });

  it('refuses an AAAA record that is not the gateway\'s, also when the gateway has no IPv6 frontend', () => {
    expect(() => checkPointsAtGateway('www.example.com', answer(['20.1.2.3'], ['2001:db8::1']), dualStack)).toThrow(/resolves to 2001:db8::1, not to the gateway/);
    expect(() => checkPointsAtGateway('www.example.com', answer(['20.1.2.3'], ['2603:1030:20c:3::3ef']), ['20.1.2.3'])).toThrow(/HostnameNotResolvingToApplicationGateway|not to the gateway/);
    expect(() => checkPointsAtGateway('www.example.com', answer([]), dualStack)).toThrow(/has no A or AAAA record; it must resolve to 20\.1\.2\.3, 2603:1030:20c:3::3ef/);
  });

  it('confirms the served certificate on the frontends the hostname resolves to, all of them when DNS names none', () => {
    expect(servedCheckAddresses(answer(['20.1.2.3']), dualStack)).toEqual(['20.1.2.3']);
    expect(servedCheckAddresses(answer(['20.1.2.3'], ['2603:1030:20C:3::03ef']), dualStack)).toEqual(dualStack);
    expect(servedCheckAddresses(answer([]), dualStack)).toEqual(dualStack);
    expect(servedCheckAddresses(undefined, dualStack)).toEqual(dualStack);
  });
});
