import { HostPolicy, isPublicAddress, normaliseHost } from './host-policy.js';

describe('HostPolicy (SKILL_HTTP_ALLOWED_HOSTS)', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::7f00:1',
    '2001:db8::1',
    '224.0.0.1',
    '255.255.255.255',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('with "*" allows any public address and no private one', () => {
    const policy = new HostPolicy('*');
    expect(policy.allowsHost('api.example.com', 443)).toBe(true);
    expect(policy.allowsAddress('api.example.com', 443, '93.184.216.34')).toBe(true);
    expect(policy.allowsAddress('api.example.com', 443, '127.0.0.1')).toBe(false);
    expect(policy.allowsAddress('evil.example', 80, '::ffff:169.254.169.254')).toBe(false);
  });

  it('allows a private host only where it is listed, with its port when one is given', () => {
    const policy = new HostPolicy('*, 127.0.0.1:8080, internal.svc, [::1]:9000');
    expect(policy.allowsAddress('127.0.0.1', 8080, '127.0.0.1')).toBe(true);
    expect(policy.allowsAddress('127.0.0.1', 8081, '127.0.0.1')).toBe(false);
    expect(policy.allowsAddress('internal.svc', 1234, '10.0.0.5')).toBe(true);
    expect(policy.allowsAddress('::1', 9000, '::1')).toBe(true);
    expect(policy.allowsAddress('localhost', 8080, '127.0.0.1')).toBe(false); // the name is not listed
  });

  it('without "*" allows listed hosts only', () => {
    const policy = new HostPolicy('api.example.com');
    expect(policy.allowsHost('api.example.com', 443)).toBe(true);
    expect(policy.allowsHost('API.EXAMPLE.COM.', 443)).toBe(true);
    expect(policy.allowsHost('other.example.com', 443)).toBe(false);
  });

  it('normalises hosts: case, trailing dot, brackets, IPv4-mapped IPv6', () => {
    expect(normaliseHost('Example.COM.')).toBe('example.com');
    expect(normaliseHost('[::FFFF:7f00:1]')).toBe('127.0.0.1');
  });
});
