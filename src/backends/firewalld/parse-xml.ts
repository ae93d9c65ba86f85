import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  FirewalldParseError,
  formatRichRuleText,
  type FirewalldIpsetState,
  type FirewalldPortState,
  type FirewalldZoneState,
  type RichRule,
  type RichRuleElement,
} from './host-state.js';

/**
 * firewalld's permanent XML files (zones/NAME.xml, ipsets/NAME.xml) read
 * into the same shape as firewall-cmd's output. Loaded only when a dump
 * holds XML: the parser is not free to load, and `kubewall render` never needs it.
 */

/** A node of fast-xml-parser's `preserveOrder` output: one tag name → its children, attributes under `:@`. */
type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
});

function tagOf(node: XmlNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@');
}

function childrenOf(node: XmlNode): XmlNode[] {
  const tag = tagOf(node);
  const children = tag === undefined ? undefined : node[tag];
  return Array.isArray(children) ? (children as XmlNode[]) : [];
}

function attributesOf(node: XmlNode): Record<string, string> {
  const attributes = node[':@'];
  if (typeof attributes !== 'object' || attributes === null) return {};
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
}

function textOf(node: XmlNode): string {
  return childrenOf(node)
    .map((child) => (typeof child['#text'] === 'string' ? child['#text'] : ''))
    .join('')
    .trim();
}

/** The document's root element, checked to be `<expected>`. */
function rootElement(text: string, expected: string): XmlNode {
  // firewalld writes no DOCTYPE; one here can only declare entities (external ones: XXE, nested: billion laughs).
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new FirewalldParseError('DOCTYPE and entity declarations are refused (firewalld\'s own files have none)');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new FirewalldParseError(`line ${valid.err.line}: ${valid.err.msg}`);
  let nodes: XmlNode[];
  try {
    nodes = parser.parse(text) as XmlNode[];
  } catch (error) {
    throw new FirewalldParseError((error as Error).message.split('\n')[0] ?? 'not parsable XML');
  }
  const roots = nodes.filter((node) => {
    const tag = tagOf(node);
    return tag !== undefined && !tag.startsWith('?') && tag !== '#comment' && tag !== '#text';
  });
  const root = roots[0];
  if (roots.length !== 1 || !root || tagOf(root) !== expected) {
    throw new FirewalldParseError(`expected one <${expected}> element, found ${roots.map((r) => `<${tagOf(r) ?? '?'}>`).join(', ') || 'none'}`);
  }
  return root;
}

const isTrue = (value: string | undefined) => value !== undefined && /^(true|yes|1)$/i.test(value);

function richRuleFromXml(node: XmlNode): RichRule {
  const attributes = attributesOf(node);
  const elements: RichRuleElement[] = [];
  const walk = (children: XmlNode[]) => {
    for (const child of children) {
      const name = tagOf(child);
      if (name === undefined || name === '#text' || name === '#comment') continue;
      const { invert, ...rest } = attributesOf(child);
      elements.push({ name, attributes: rest, inverted: isTrue(invert) });
      // `<log><limit value="1/m"/></log>`: the nested limit follows its element, as in the text form.
      walk(childrenOf(child));
    }
  };
  walk(childrenOf(node));
  return { attributes, elements, text: formatRichRuleText(attributes, elements) };
}

function port(attributes: Record<string, string>): FirewalldPortState {
  return { port: attributes['port'] ?? '', protocol: attributes['protocol'] ?? '' };
}

/** `zones/NAME.xml`; the zone's name is its file name. Throws FirewalldParseError. */
export function parseZoneXml(text: string, name: string): FirewalldZoneState {
  const root = rootElement(text, 'zone');
  const attributes = attributesOf(root);
  const zone = {
    sources: [] as string[],
    interfaces: [] as string[],
    services: [] as string[],
    ports: [] as FirewalldPortState[],
    protocols: [] as string[],
    sourcePorts: [] as FirewalldPortState[],
    forwardPorts: [] as string[],
    icmpBlocks: [] as string[],
    richRules: [] as RichRule[],
    icmpBlockInversion: false,
    masquerade: false,
    forward: false,
  };
  for (const child of childrenOf(root)) {
    const tag = tagOf(child);
    const a = attributesOf(child);
    switch (tag) {
      case 'source':
        zone.sources.push(a['address'] ?? a['mac'] ?? (a['ipset'] !== undefined ? `ipset:${a['ipset']}` : ''));
        break;
      case 'interface':
        zone.interfaces.push(a['name'] ?? '');
        break;
      case 'service':
        zone.services.push(a['name'] ?? '');
        break;
      case 'port':
        zone.ports.push(port(a));
        break;
      case 'protocol':
        zone.protocols.push(a['value'] ?? '');
        break;
      case 'source-port':
        zone.sourcePorts.push(port(a));
        break;
      case 'forward-port':
        zone.forwardPorts.push(`port=${a['port'] ?? ''}:proto=${a['protocol'] ?? ''}:toport=${a['to-port'] ?? ''}:toaddr=${a['to-addr'] ?? ''}`);
        break;
      case 'icmp-block':
        zone.icmpBlocks.push(a['name'] ?? '');
        break;
      case 'icmp-block-inversion':
        zone.icmpBlockInversion = true;
        break;
      case 'masquerade':
        zone.masquerade = true;
        break;
      case 'forward':
        zone.forward = true;
        break;
      case 'rule':
        zone.richRules.push(richRuleFromXml(child));
        break;
      default:
        // short, description, comments, and elements of newer firewalld versions that filter nothing here.
        break;
    }
  }
  const priority = attributes['ingress-priority'];
  return {
    name,
    target: attributes['target'] ?? 'default',
    ...(priority !== undefined && /^-?\d+$/.test(priority) ? { ingressPriority: Number(priority) } : {}),
    ...zone,
  };
}

/** `ipsets/NAME.xml`; the ipset's name is its file name. Throws FirewalldParseError. */
export function parseIpsetXml(text: string, name: string): FirewalldIpsetState {
  const root = rootElement(text, 'ipset');
  const options: Record<string, string> = {};
  const entries: string[] = [];
  for (const child of childrenOf(root)) {
    const tag = tagOf(child);
    if (tag === 'option') {
      const a = attributesOf(child);
      if (a['name'] !== undefined) options[a['name']] = a['value'] ?? '';
    } else if (tag === 'entry') {
      entries.push(textOf(child));
    }
  }
  return { name, type: attributesOf(root)['type'] ?? '', options, entries };
}
