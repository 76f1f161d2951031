import { describe, expect, it } from 'vitest'
import {
  buildFaultEnvelope,
  buildParasXml,
  buildRequestEnvelope,
  buildResponseEnvelope,
  buildResultXml,
  decodeXmlReferences,
  escapeXml,
  faultCodeName,
  parseParasXml,
  parseRequestEnvelope,
  parseResponseEnvelope,
  parseResultXml,
  parseXml,
  soapAction,
  WireFormatError,
  writeXml,
} from './wire.js'

const RESULT_OK =
  '<?xml version="1.0" encoding="gb2312"?><result><code>1</code><message>成功</message><data><项目>' +
  '<项目代码>2403-320115-04-03-123456</项目代码><项目单位><单位名称>南京𠮷祥建设发展有限公司</单位名称>' +
  '<统一社会信用代码>91350200776049653A</统一社会信用代码></项目单位><建设规模及内容>R&amp;D 用房，高度&lt;100米' +
  '</建设规模及内容><总投资>00012.50</总投资></项目></data></result>'

function wireError(run: () => unknown): WireFormatError {
  try {
    run()
  } catch (err) {
    expect(err).toBeInstanceOf(WireFormatError)
    return err as WireFormatError
  }
  throw new Error('expected a WireFormatError')
}

describe('building', () => {
  it('escapes text as ASP.NET does and refuses characters XML cannot carry', () => {
    expect(escapeXml('R&D <x> "q" \'a\'')).toBe('R&amp;D &lt;x&gt; "q" \'a\'')
    expect(escapeXml('a\r\nb\tc')).toBe('a&#13;\nb\tc')
    expect(escapeXml('南京𠮷祥')).toBe('南京𠮷祥')
    for (const bad of ['\u0000', '\u001b', '\uFFFE', '\uD842'])
      expect(() => escapeXml(`a${bad}`)).toThrow(WireFormatError)
    expect(
      writeXml([
        [
          'a',
          [
            ['b', ''],
            ['c', 'x'],
          ],
        ],
      ]),
    ).toBe('<a><b/><c>x</c></a>')
  })

  it('builds ParasXml declared gb2312 and carries it escaped inside a SOAP 1.1 envelope', () => {
    const paras = buildParasXml([['项目代码', '2403-320115-04-03-123456']])
    expect(paras).toBe(
      '<?xml version="1.0" encoding="gb2312"?><paras><项目代码>2403-320115-04-03-123456</项目代码></paras>',
    )
    const envelope = buildRequestEnvelope('GetProjectInfo', 'tok&en', paras)
    expect(envelope.startsWith('<?xml version="1.0" encoding="GBK"?><soap:Envelope ')).toBe(true)
    expect(envelope).toContain('xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"')
    expect(envelope).toContain(
      '<soap:Body><GetProjectInfo xmlns="http://tempuri.org/"><ValidateData>tok&amp;en</ValidateData>',
    )
    expect(envelope).toContain(
      '<ParasXml>&lt;?xml version="1.0" encoding="gb2312"?&gt;&lt;paras&gt;&lt;项目代码&gt;2403-320115-04-03-123456',
    )
    expect(soapAction('GetProjectInfo')).toBe('"http://tempuri.org/GetProjectInfo"')
  })

  it('escapes twice: once inside ParasXml, once more in the envelope, and reads back', () => {
    const paras = buildParasXml([['发证机关', 'R&D <中心> 𠮷']])
    const envelope = buildRequestEnvelope('PushConstructionPermit', 'token', paras)
    expect(envelope).toContain('R&amp;amp;D &amp;lt;中心&amp;gt; 𠮷')
    const read = parseRequestEnvelope(envelope)
    expect(read).toStrictEqual({ method: 'PushConstructionPermit', validateData: 'token', parasXml: paras })
    expect(parseParasXml(read.parasXml as string)).toStrictEqual({ 发证机关: 'R&D <中心> 𠮷' })
  })

  it('Ping carries only ValidateData', () => {
    const read = parseRequestEnvelope(buildRequestEnvelope('Ping', 'token'))
    expect(read).toStrictEqual({ method: 'Ping', validateData: 'token', parasXml: undefined })
  })
})

describe('parsing answers', () => {
  it('reads <MethodResult> as a string and parses the result XML in it as text, not bytes', () => {
    const answer = parseResponseEnvelope(buildResponseEnvelope('GetProjectInfo', RESULT_OK), 'GetProjectInfo')
    // The inner declaration says gb2312, which cannot hold 𠮷: the string is parsed as it is, never re-decoded.
    expect(answer).toStrictEqual({ kind: 'result', result: RESULT_OK })
    const result = parseResultXml(RESULT_OK)
    expect(result.code).toBe('1')
    expect(result.message).toBe('成功')
    expect(result.data).toStrictEqual({
      项目: [
        {
          项目代码: '2403-320115-04-03-123456',
          项目单位: [{ 单位名称: '南京𠮷祥建设发展有限公司', 统一社会信用代码: '91350200776049653A' }],
          建设规模及内容: 'R&D 用房，高度<100米',
          总投资: '00012.50',
        },
      ],
    })
  })

  it('accepts a result in CDATA, other namespace prefixes, and character references from a GBK-only writer', () => {
    const cdata =
      '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
      `<GetProjectInfoResponse xmlns="http://tempuri.org/"><GetProjectInfoResult><![CDATA[${RESULT_OK}]]>` +
      '</GetProjectInfoResult></GetProjectInfoResponse></s:Body></s:Envelope>'
    expect(parseResponseEnvelope(cdata, 'GetProjectInfo')).toStrictEqual({ kind: 'result', result: RESULT_OK })
    const referenced = parseResultXml(
      '<result><code>1</code><message>&#25104;&#x529F;</message><data><项目><单位名称>南京&#x20BB7;祥&#22531;</单位名称></项目></data></result>',
    )
    expect(referenced.message).toBe('成功')
    expect(referenced.data).toStrictEqual({ 项目: [{ 单位名称: '南京𠮷祥堃' }] })
  })

  it('reads a SOAP 1.1 fault with its detail error code', () => {
    const envelope = buildFaultEnvelope({ faultcode: 'soap:Client', faultstring: '项目代码不存在', errorCode: 'E1001' })
    expect(envelope).toContain(
      '<soap:Fault><faultcode>soap:Client</faultcode><faultstring>项目代码不存在</faultstring>',
    )
    expect(parseResponseEnvelope(envelope, 'GetProjectInfo')).toStrictEqual({
      kind: 'fault',
      fault: { faultcode: 'soap:Client', faultstring: '项目代码不存在', errorCode: 'E1001' },
    })
    const bare = buildFaultEnvelope({ faultcode: 'soap:Server', faultstring: '' })
    expect(parseResponseEnvelope(bare, 'GetProjectInfo')).toStrictEqual({
      kind: 'fault',
      fault: { faultcode: 'soap:Server', faultstring: '' },
    })
    expect(faultCodeName('soap:Client')).toBe('Client')
    expect(faultCodeName('Server')).toBe('Server')
  })

  it('refuses envelopes that are not XML, have no Body, no result or the wrong method', () => {
    const cases: Array<[string, string]> = [
      ['', 'answer is empty'],
      ['<html><body>Server Error', 'answer is not well-formed XML'],
      ['{"code":"00"}', 'answer is not well-formed XML'],
      ['<a/>', 'answer has no Envelope'],
      ['<soap:Envelope xmlns:soap="x"/>', 'answer has an empty Envelope'],
      ['<soap:Envelope xmlns:soap="x"><soap:Header/></soap:Envelope>', 'answer Envelope has no Body'],
      ['<soap:Envelope xmlns:soap="x"><soap:Body/></soap:Envelope>', 'answer has an empty Body'],
      [buildResponseEnvelope('GetApprovalResults', RESULT_OK), 'answer Body has no GetProjectInfoResponse'],
      [
        '<Envelope><Body><GetProjectInfoResponse><Other/></GetProjectInfoResponse></Body></Envelope>',
        'GetProjectInfoResponse has no GetProjectInfoResult',
      ],
      [
        '<Envelope><Body><GetProjectInfoResponse><GetProjectInfoResult/></GetProjectInfoResponse></Body></Envelope>',
        'GetProjectInfoResult is empty',
      ],
    ]
    for (const [text, message] of cases) {
      expect(wireError(() => parseResponseEnvelope(text, 'GetProjectInfo')).message, text).toBe(message)
    }
  })

  it('refuses result XML without a code, or that is not XML', () => {
    expect(wireError(() => parseResultXml('<result><message>x</message></result>')).message).toBe('result has no code')
    expect(wireError(() => parseResultXml('<result><code/></result>')).message).toBe('result has no code text')
    expect(wireError(() => parseResultXml('<result><code>1</code><code>0</code></result>')).message).toBe(
      'result has more than one code',
    )
    expect(wireError(() => parseResultXml('&lt;result&gt;')).message).toBe('result XML is not well-formed XML')
    expect(wireError(() => parseResultXml('<other/>')).message).toBe('result XML has no result')
  })

  it('never expands DOCTYPE entities', () => {
    const doc = parseXml('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "expanded">]><a>&x;</a>', 'test')
    expect(doc).toStrictEqual({ a: '&x;' })
    expect(decodeXmlReferences('&lt;&#65;&#x41;&nbsp;&#0;&#xD800;')).toBe('<AA&nbsp;&#0;&#xD800;')
  })

  it('builds the result XML the simulator sends', () => {
    expect(buildResultXml('1', '成功', [])).toBe(
      '<?xml version="1.0" encoding="gb2312"?><result><code>1</code><message>成功</message><data/></result>',
    )
    expect(parseResultXml(buildResultXml('1', '成功', [])).data).toBe('')
    expect(parseResultXml(buildResultXml('0', '失败')).data).toBeUndefined()
  })
})
